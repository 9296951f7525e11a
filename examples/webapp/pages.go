package main

// pagesHTML holds every page: plain HTML with one style sheet, which the
// SAML failure page (samlsp) shares in spirit. The only JavaScript submits
// the IdP's auto-posting form, makes Enter in a test box run its test
// (without it, Enter saves and the typed recipient is kept), and follows
// a test SMS's delivery status (without it, a "Refresh status" link).
const pagesHTML = `
{{define "style"}}<style>
body{font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:48em;margin:0 auto;padding:1em;color:#222}
nav{display:flex;flex-wrap:wrap;gap:.3em 1em;padding:.4em 0;border-bottom:1px solid #ddd;margin-bottom:1em}nav .me{margin-left:auto}
h1{font-size:1.6em;margin:.5em 0}h2{font-size:1.25em}
label{display:block;margin:.7em 0}label:has(input[type=checkbox]){display:flex;gap:.5em;align-items:baseline}
input[type=text],input[type=url],input[type=password],textarea,select{display:block;width:100%;box-sizing:border-box;margin-top:.2em;padding:.3em;font:inherit}
textarea{height:6em;font-family:ui-monospace,monospace;font-size:.9em}
[aria-invalid=true]{outline:2px solid #b00;outline-offset:1px}label:has([aria-invalid=true]){color:#b00}
.box{padding:.6em .9em;margin:1em 0;border:1px solid #ccc;border-radius:4px}.box>:first-child{margin-top:0}.box>:last-child{margin-bottom:0}
.err{color:#b00}.box.err{background:#fdf0f0;border-color:#e3a5a5}.ok{color:#070}.box.ok{background:#effaef;border-color:#9c9}.box.warn{background:#fff8e1;border-color:#e2c46a}
.hint{color:#555;font-size:.9em;margin:.2em 0}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f4f4f4;padding:.8em;font-size:.9em}code{overflow-wrap:anywhere}
table{border-collapse:collapse}td,th{padding:.25em .6em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
fieldset{margin:1em 0;border:1px solid #ccc;border-radius:4px}button{font:inherit;padding:.3em .9em}
#recent-sms{font-size:.9em}
</style>{{end}}

{{define "head"}}<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>{{.Title}} · webapp</title>
{{template "style"}}</head><body>
<nav><a href="/">Home</a><a href="/diff">Team sync</a>{{if .Admin}}<a href="/admin/saml">SAML</a><a href="/admin/smtp">SMTP</a><a href="/admin/twilio">Twilio</a>{{if .Shared}}<a href="/admin/invitations">Invitations</a>{{end}}{{end}}
{{if .SAMLOn}}<a href="/saml/metadata" download="sp-metadata.xml">SP metadata</a>{{end}}<a href="/idp/metadata" download="idp-metadata.xml">IdP metadata</a>
<span class="me">{{with .Session}}{{if .BreakGlass}}break-glass site admin{{else}}{{.NameID.Value}}{{end}}{{else}}<a href="/login">Log in</a>{{end}}</span></nav>
<h1>{{.Title}}</h1>{{end}}

{{define "foot"}}<script>
for (const box of document.querySelectorAll("input[data-enter]")) {
	box.addEventListener("keydown", e => {
		if (e.key === "Enter") { e.preventDefault(); box.form.requestSubmit(document.getElementById(box.dataset.enter)); }
	});
}
</script></body></html>{{end}}

{{define "message"}}{{template "head" .}}<p id="message">{{.Text}}</p>
{{with .Link}}<p><a href="{{.}}">{{$.LinkText}}</a></p>{{end}}<p><a href="/">Home</a></p>{{template "foot" .}}{{end}}

{{define "home"}}{{template "head" .}}
{{with .Session}}{{if .BreakGlass}}
<p id="who">Logged in directly as the <strong>break-glass site admin</strong>, with the password webapp printed at start (or was given).</p>
<p>Admin pages: <a href="/admin/saml">SAML</a>, <a href="/admin/smtp">SMTP</a>, <a href="/admin/twilio">Twilio</a>.</p>
<form method="post" action="/logout"><button id="logout">Log out</button></form>
{{else}}
<p id="who">Logged in as <strong>{{.NameID.Value}}</strong> ({{.Via}} login, IdP session <code>{{.SessionIndex}}</code>).</p>
{{with $.User}}<p>Username <strong>{{.Username}}</strong>{{if .SiteAdmin}}, site admin{{end}}{{if .ServiceAccount}}, service account{{end}}; teams:
{{range .Teams}}<code>{{.Org}}/{{.Name}}</code> {{else}}none{{end}}</p>{{end}}
{{if $.Admin}}<p>Admin pages: <a href="/admin/saml">SAML</a>, <a href="/admin/smtp">SMTP</a>, <a href="/admin/twilio">Twilio</a>.</p>{{end}}
<h2>Attributes</h2><table>{{range $.Attributes}}<tr><th>{{index . 0}}</th><td>{{index . 1}}</td></tr>{{end}}</table>
<p><a href="/diff">What team sync did at this login</a></p>
{{if $.SAMLOn}}<form method="post" action="/saml/logout"><button id="logout">Log out (here and at the IdP)</button></form>
<form method="post" action="/idp/logout"><button id="idp-logout">Log out at the IdP (IdP-initiated single logout)</button></form>
{{else}}<form method="post" action="/logout"><button id="logout">Log out</button></form>{{end}}
{{end}}{{else}}
<p id="who">Not logged in.</p>
{{if .SAMLOn}}<p><a id="login" href="/saml/login?return_to=/diff">Log in with SSO</a> (SP-initiated: an AuthnRequest goes to the test IdP)</p>
<p><a id="idp-login" href="/idp/sso">Log in at the IdP</a> (IdP-initiated: the IdP posts an unsolicited response)</p>
{{else}}<p>Single sign-on is off. A site admin can turn it on at the <a href="/admin/saml">SAML settings page</a>.</p>{{end}}
{{end}}
<p class="hint">The admin pages (SAML, SMTP and Twilio settings) are for site admins: log in with SSO as a user with the
<code>site-admins</code> group or <code>SiteAdmin</code> true, or <a href="/login">log in directly</a> with the break-glass password.</p>
{{template "foot" .}}{{end}}

{{define "login"}}{{template "head" .}}
{{if .SAMLOn}}<p><a id="login" href="/saml/login?return_to={{.ReturnTo}}">Log in with SSO</a></p>{{end}}
<h2>Log in directly (site admins)</h2>
<p>The break-glass login works whatever the SAML settings are, so that a site admin can repair them.
Its password is the one webapp printed at start, or the one set with <code>-break-glass-password</code> or <code>WEBAPP_BREAK_GLASS_PASSWORD</code>.</p>
{{if .Wrong}}<p class="box err" id="login-error">Wrong password.</p>{{end}}
<form method="post" action="/login"><input type="hidden" name="return_to" value="{{.ReturnTo}}">
<label>Break-glass password <input type="password" name="password" id="f-password" autocomplete="current-password"{{if .Wrong}} aria-invalid="true"{{end}} autofocus></label>
<button type="submit" id="break-glass">Log in</button></form>
{{template "foot" .}}{{end}}

{{define "diff"}}{{template "head" .}}
<p>Login of <strong>{{.Session.NameID.Value}}</strong>. Team sync {{if .Session.DiffEmpty}}changed nothing{{else}}made these changes{{end}}:</p>
<pre id="diff">{{.Session.Diff}}</pre>
{{with .User}}<h2>{{.Username}} now</h2><p>{{if .SiteAdmin}}Site admin. {{end}}Teams: {{range .Teams}}<code>{{.Org}}/{{.Name}}</code> {{else}}none{{end}}</p>{{end}}
<h2>The directory: two organizations</h2>
<table><tr><th>Organization</th><th>Team</th><th>Matched by (SSO Team ID; owners team: SAML Role ID)</th><th>Members</th></tr>
{{range .Teams}}<tr><td>{{.Org}}</td><td>{{.Name}}</td><td>{{if .Owners}}{{with .SSOTeamID}}SAML Role ID <code>{{.}}</code>{{else}}no SAML Role ID: not managed by team sync{{end}}{{else}}{{with .SSOTeamID}}SSO Team ID <code>{{.}}</code>, or {{end}}its name{{end}}</td><td>{{.Members}}</td></tr>{{end}}</table>
{{template "foot" .}}{{end}}

{{define "post"}}<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>{{template "style"}}</head><body>
<form method="post" action="{{.Action}}">
{{range .Fields}}{{if index . 1}}<input type="hidden" name="{{index . 0}}" value="{{index . 1}}">
{{end}}{{end}}<p>{{.Title}}…</p><button type="submit">Continue</button></form>
<script>document.forms[0].submit();</script>
</body></html>{{end}}

{{define "idp-login"}}{{template "head" .}}
<p>This is the embedded <strong>test IdP</strong>. {{with .Request}}The service provider asked for a login (AuthnRequest <code>{{.ID}}</code>,
{{if .Signed}}signed with {{.SigAlg}}{{else}}unsigned{{end}}, {{.Binding}}).{{else}}No AuthnRequest: this is an IdP-initiated login.{{end}}</p>
<form method="post" action="/idp/sso">
{{with .Request}}<input type="hidden" name="request_id" value="{{.ID}}"><input type="hidden" name="relay_state" value="{{.RelayState}}">{{end}}
<label>User <select name="user">{{range .Users}}<option>{{.}}</option>{{end}}</select></label>
<label>Username attribute (empty: none) <input type="text" name="username"></label>
<fieldset><legend>MemberOf groups</legend>{{range .Groups}}<label><input type="checkbox" name="groups" value="{{.}}"> {{.}}</label>{{end}}</fieldset>
<label>SiteAdmin attribute <select name="site_admin"><option value="">(absent)</option><option>true</option><option>false</option></select></label>
<label><input type="checkbox" name="service_account" value="1"> IsServiceAccount</label>
<label>Make the login fail? <select name="break">{{range .Breaks}}<option value="{{index . 0}}">{{index . 1}}</option>{{end}}</select></label>
{{if not .Request}}<label>RelayState (where to land; only paths on this site are followed) <input type="text" name="relay_state" value="/diff"></label>{{end}}
<button type="submit" id="idp-submit">Log in</button>
</form>
{{template "foot" .}}{{end}}

{{define "per-instance"}}{{if .Shared}}<p class="hint" id="per-instance">Settings saved here apply to this instance only, until it stops:
the instances share the directory, the sessions, the replay cache, the outbox, the invitations and the keys (in PostgreSQL), not these pages.</p>{{end}}{{end}}

{{define "admin-invitations"}}{{template "head" .}}
<p>Invite several people at once. One database transaction records every invitation and queues its email in the outbox,
which the Deliverer of every instance drains: if one address cannot be invited (not an email address, or invited before),
the whole batch is rolled back, and none of its emails is ever sent.</p>
{{with .InviteError}}<div class="box err" id="invite-error" role="alert"><p>Nobody was invited: {{.}}.</p>
<p>The batch was rolled back: no invitation was recorded, no email will be sent. Fix the list and invite again.</p></div>{{end}}
{{with .Invited}}<div class="box ok" id="invited"><p>Invited {{len .}}: their invitations are recorded and their emails queued.</p></div>{{end}}
<form method="post">
<label>Organization <select name="organization" id="f-organization">{{range .Orgs}}<option{{if eq . $.Org}} selected{{end}}>{{.}}</option>{{end}}</select></label>
<label>Invite users, one email per line <textarea name="emails" id="f-emails"{{if .InviteError}} aria-invalid="true"{{end}}>{{.Typed}}</textarea></label>
<button type="submit" id="invite">Invite</button></form>
<h2>Invitations ({{.Total}})</h2>{{with .ListError}}<p class="err">{{.}}</p>{{end}}
<table id="invitations"><tr><th>Email</th><th>Organization</th><th>Invited by</th><th>At</th></tr>
{{range .List}}<tr><td>{{.Email}}</td><td>{{.Organization}}</td><td>{{.InvitedBy}}</td><td>{{stamp .InvitedAt}}</td></tr>{{end}}</table>
{{template "foot" .}}{{end}}

{{define "errors"}}{{with .Errs}}<div class="box err" id="errors" role="alert">
<p>{{if $.Tested}}The test did not run{{else}}Not saved{{end}}: {{if eq (len .List) 1}}one field needs{{else}}{{len .List}} fields need{{end}} fixing.</p>
<ul>{{range .List}}<li>{{if .Field}}<a href="#f-{{.Field}}">{{.Label}}</a>: {{else if .Label}}{{.Label}}: {{end}}{{.Text}}</li>{{end}}</ul></div>{{end}}
{{if .Saved}}<p class="box ok" id="saved">Saved.</p>{{end}}{{end}}

{{define "unsaved"}}{{if .Unsaved}}<p class="box warn" id="unsaved">{{if .Tested}}The test used the settings in this form. {{end}}They are not saved:
the saved settings still apply until you press Save{{if .Typed}}, which keeps the {{.Typed}} you typed (it is still in its field){{end}}.</p>{{end}}{{end}}

{{define "admin-saml"}}{{template "head" .}}{{template "errors" .}}{{template "per-instance" .}}
<p>This service provider: entity ID <code>{{.Base}}/saml/metadata</code>, ACS <code>{{.Base}}/saml/acs</code>, SLO <code>{{.Base}}/saml/slo</code>.
{{if .SAMLOn}}Give the IdP its metadata: <a href="/saml/metadata" download="sp-metadata.xml">sp-metadata.xml</a> (also served at <code>{{.Base}}/saml/metadata</code>).{{end}}</p>
{{with .Status}}<section id="metadata-status"><h2>Trust in use</h2>
{{with .Alerts}}<ul class="err">{{range .}}<li>{{.Summary}}. {{.Action}}</li>{{end}}</ul>{{end}}
{{with .Source}}<p>IdP metadata from <code>{{.URL}}</code> ({{or .Origin "none loaded"}}{{if .SignedBy}}, signed by <code>{{.SignedBy.Subject.CommonName}}</code>{{else}}; <strong>no metadata signing certificate: TLS alone vouches for this metadata</strong>{{end}}).</p>
<table><tr><th>Last refresh</th><td>{{if .LastAttempt.IsZero}}not yet{{else}}{{.LastAttempt.UTC.Format "2006-01-02 15:04:05 UTC"}}: {{with $.Status.LastError}}<span class="err" id="refresh-error">failed: {{.}} (the metadata in use is kept)</span>{{else}}<span class="ok" id="refresh-ok">succeeded</span>{{end}}{{end}}</td></tr>
{{if not .FailingSince.IsZero}}<tr><th>Failing since</th><td>{{.FailingSince.UTC.Format "2006-01-02 15:04:05 UTC"}} ({{.Failures}} attempts)</td></tr>{{end}}
<tr><th>Loaded</th><td>{{if .LoadedAt.IsZero}}never{{else}}{{.LoadedAt.UTC.Format "2006-01-02 15:04:05 UTC"}}{{end}}</td></tr>
<tr><th>Next refresh</th><td>{{if .NextRefresh.IsZero}}now{{else}}{{.NextRefresh.UTC.Format "2006-01-02 15:04:05 UTC"}}{{end}}</td></tr></table>
<form method="post" action="/admin/saml/refresh"><button id="refresh-now">Refresh now</button></form>{{end}}
{{with .ValidUntil}}<p>The IdP metadata is valid until {{.Format "2006-01-02 15:04 UTC"}}.</p>{{end}}
<table id="certificates"><tr><th>Certificate</th><th>Subject</th><th>Serial</th><th>Expires</th></tr>
{{range .Certs}}<tr><td>{{.Use}}</td><td>{{.Subject}}</td><td>{{.Serial}}</td><td{{if .Expired}} class="err"{{end}}>{{.NotAfter.Format "2006-01-02"}}{{if .Expired}} (expired){{end}}</td></tr>{{end}}</table>
</section>{{end}}
<form method="post">{{with .S}}
<label><input type="checkbox" name="enabled"{{invalid $.Marks "enabled"}}{{if .Enabled}} checked{{end}}> {{index $.L "enabled"}}</label>
<label><input type="checkbox" name="debug"{{invalid $.Marks "debug"}}{{if .Debug}} checked{{end}}> {{index $.L "debug"}} (failed logins show every check)</label>
<fieldset><legend>Identity provider</legend>
{{with $.InEffect}}<div class="box" id="in-effect"><p><strong>In effect now</strong> (the saved settings{{if .FromMetadata}}, read from the IdP metadata{{end}}):</p>
<table><tr><th>IdP entity ID</th><td><code>{{.EntityID}}</code></td></tr>
<tr><th>Single sign-on URL</th><td>{{range .SSO}}<code>{{.}}</code><br>{{end}}</td></tr>
<tr><th>Single logout URL</th><td>{{range .SLO}}<code>{{.}}</code><br>{{else}}none: logout is local only{{end}}</td></tr>
{{range .Certificates}}<tr><th>Certificate</th><td><code>{{.Subject}}</code>, until {{.NotAfter}}: <span class="{{if .Bad}}err{{else}}ok{{end}}">{{.Status}}</span></td></tr>{{end}}
{{with .ValidUntil}}<tr><th>Metadata valid until</th><td>{{.}}</td></tr>{{end}}</table></div>
{{else}}<p class="box" id="in-effect">Single sign-on is off: no identity provider is in effect.</p>{{end}}
<label>{{index $.L "idp-metadata-url"}} (https; keeps the IdP's certificates current, rollovers included) <input type="url" name="idp-metadata-url"{{invalid $.Marks "idp-metadata-url"}} value="{{.IdPMetadataURL}}"></label>
<label>{{index $.L "idp-metadata-signing-certificate"}} (PEM; optional: without it TLS alone vouches for the metadata) <textarea name="idp-metadata-signing-certificate"{{invalid $.Marks "idp-metadata-signing-certificate"}}>{{.IdPMetadataSigningCertificate}}</textarea></label>
<label>{{index $.L "idp-metadata"}} (or fill the fields below; with a URL, the last good metadata fetched) <textarea name="idp-metadata"{{invalid $.Marks "idp-metadata"}}>{{.IdPMetadata}}</textarea></label>
<p class="hint">With metadata, the fields below are optional: an entity ID picks one entity of the metadata, the URLs replace its own, and the certificates are trusted as well.</p>
<label>{{index $.L "idp-entity-id"}} <input type="text" name="idp-entity-id"{{invalid $.Marks "idp-entity-id"}} value="{{.IdPEntityID}}"></label>
<label>{{index $.L "sso-url"}} <input type="url" name="sso-url"{{invalid $.Marks "sso-url"}} value="{{.SSOURL}}"></label>
<label>{{index $.L "slo-url"}} <input type="url" name="slo-url"{{invalid $.Marks "slo-url"}} value="{{.SLOURL}}"></label>
<label>{{index $.L "idp-certificate"}} <textarea name="idp-certificate"{{invalid $.Marks "idp-certificate"}}>{{.IdPCertificate}}</textarea></label>
<label>{{index $.L "idp-old-certificate"}} <textarea name="idp-old-certificate"{{invalid $.Marks "idp-old-certificate"}}>{{.IdPOldCertificate}}</textarea></label>
<label><input type="checkbox" name="allow-idp-initiated"{{invalid $.Marks "allow-idp-initiated"}}{{if .AllowIdPInitiated}} checked{{end}}> {{index $.L "allow-idp-initiated"}}</label>
</fieldset>
<fieldset><legend>Signatures</legend>
<label><input type="checkbox" name="authn-requests-signed"{{invalid $.Marks "authn-requests-signed"}}{{if .AuthnRequestsSigned}} checked{{end}}> {{index $.L "authn-requests-signed"}}</label>
<label><input type="checkbox" name="want-assertions-signed"{{invalid $.Marks "want-assertions-signed"}}{{if .WantAssertionsSigned}} checked{{end}}> {{index $.L "want-assertions-signed"}}</label>
<label>{{index $.L "sp-certificate"}} <textarea name="sp-certificate"{{invalid $.Marks "sp-certificate"}}>{{.SPCertificate}}</textarea></label>
<label>{{index $.L "sp-private-key"}} <textarea name="sp-private-key"{{invalid $.Marks "sp-private-key"}} placeholder="{{if $.KeySet}}(set: leave blank to keep it){{end}}">{{$.TypedKey}}</textarea></label>
{{if $.TypedKey}}<p class="hint">The key you typed is not saved yet; it is kept in its field.</p>{{end}}
<label>{{index $.L "signature-method"}} <select name="signature-method"{{invalid $.Marks "signature-method"}}>{{$m := .SignatureMethod}}{{range $.Methods}}<option value="{{.Value}}"{{if selected .Value $m}} selected{{end}}>{{.Text}}</option>{{end}}</select></label>
<label>{{index $.L "digest-method"}} <select name="digest-method"{{invalid $.Marks "digest-method"}}>{{$d := .DigestMethod}}{{range $.Methods}}<option value="{{.Value}}"{{if selected .Value $d}} selected{{end}}>{{.Text}}</option>{{end}}</select></label>
</fieldset>
<fieldset><legend>Team sync</legend>
<label><input type="checkbox" name="team-sync"{{invalid $.Marks "team-sync"}}{{if .TeamSync}} checked{{end}}> {{index $.L "team-sync"}}</label>
<label>{{index $.L "team-attribute"}} (default MemberOf) <input type="text" name="team-attribute"{{invalid $.Marks "team-attribute"}} value="{{.TeamAttribute}}"></label>
<label>{{index $.L "username-attribute"}} (default Username) <input type="text" name="username-attribute"{{invalid $.Marks "username-attribute"}} value="{{.UsernameAttribute}}"></label>
<label>{{index $.L "site-admin-attribute"}} (default SiteAdmin) <input type="text" name="site-admin-attribute"{{invalid $.Marks "site-admin-attribute"}} value="{{.SiteAdminAttribute}}"></label>
<label>{{index $.L "site-admin-role"}} (default site-admins) <input type="text" name="site-admin-role"{{invalid $.Marks "site-admin-role"}} value="{{.SiteAdminRole}}"></label>
<label>{{index $.L "service-account-attribute"}} (default IsServiceAccount) <input type="text" name="service-account-attribute"{{invalid $.Marks "service-account-attribute"}} value="{{.ServiceAccountAttribute}}"></label>
</fieldset>
{{end}}<button type="submit" id="save">Save SAML settings</button></form>
{{template "foot" .}}{{end}}

{{define "admin-smtp"}}{{template "head" .}}{{template "errors" .}}{{template "per-instance" .}}{{template "unsaved" .}}
<p>By default these settings point at an in-process SMTP server (<code>{{.Fake}}</code>, with its own CA and user <code>app</code>); put a real server's here to send real mail.</p>
<form method="post">{{with .S}}
<label><input type="checkbox" name="enabled"{{invalid $.Marks "enabled"}}{{if .Enabled}} checked{{end}}> {{index $.L "enabled"}}</label>
<label>{{index $.L "sender"}} <input type="text" name="sender"{{invalid $.Marks "sender"}} value="{{.Sender}}"></label>
<label>{{index $.L "host"}} <input type="text" name="host"{{invalid $.Marks "host"}} value="{{.Host}}"></label>
<label>{{index $.L "port"}} <input type="text" name="port"{{invalid $.Marks "port"}} value="{{.Port}}"></label>
<label>{{index $.L "authentication"}} <select name="authentication"{{invalid $.Marks "authentication"}}>{{$a := printf "%s" .Authentication}}{{range $o := $.Auths}}<option value="{{$o}}"{{if eq $o $a}} selected{{end}}>{{$o}}</option>{{end}}</select></label>
<label>{{index $.L "username"}} <input type="text" name="username"{{invalid $.Marks "username"}} value="{{.Username}}"></label>
<label>{{index $.L "password"}} <input type="password" name="password"{{invalid $.Marks "password"}} value="{{$.TypedPassword}}" placeholder="{{if $.PasswordSet}}(set: leave blank to keep it){{end}}" autocomplete="new-password"></label>
<label>{{index $.L "tls"}} <select name="tls"{{invalid $.Marks "tls"}}>{{$t := printf "%s" .TLS}}{{range $o := $.TLSModes}}<option value="{{$o}}"{{if eq $o $t}} selected{{end}}>{{or $o "by port (default)"}}</option>{{end}}</select></label>
{{end}}<button type="submit" name="action" value="save" id="save">Save SMTP settings</button>
<fieldset><legend>Test</legend>
<label>{{index $.L "to"}} <input type="text" name="test-to"{{invalid $.Marks "to"}} value="{{.TestTo}}" data-enter="send-test-email" placeholder="admin@example.com"></label>
<button type="submit" name="action" value="test" id="send-test-email">Send test email</button>
<p class="hint">The test sends with the settings in this form, saved or not.</p></fieldset>
</form>
{{if .Tested}}{{with .Report}}<div class="box {{if .Accepted}}ok{{else}}err{{end}}" id="test-result"><h2>Test email to {{$.TestTo}}</h2>
<table>{{range .Steps}}<tr><td>{{if .OK}}<span class="ok">✔</span>{{else}}<span class="err">✘</span>{{end}}</td><td>{{.Name}}</td><td>{{.Detail}}</td></tr>{{end}}</table>
{{if .Accepted}}<p>Accepted: {{.Reply}}</p>{{end}}{{with $.TestError}}<p>{{.}}</p>{{end}}</div>{{end}}{{end}}
<h2>Mail received by the in-process server</h2><table id="mail">{{range .Mail}}<tr><td>{{join .To ", "}}</td><td>{{.Subject}}</td></tr>{{else}}<tr><td>none yet</td></tr>{{end}}</table>
{{template "foot" .}}{{end}}

{{define "admin-twilio"}}{{template "head" .}}{{template "errors" .}}{{template "per-instance" .}}{{template "unsaved" .}}
<p>By default these settings point at an in-process fake of Twilio's API (<code>{{.Fake}}</code>); clear the base URL and put real credentials here to send real SMS.</p>
<form method="post">{{with .S}}
<label><input type="checkbox" name="enabled"{{invalid $.Marks "enabled"}}{{if .Enabled}} checked{{end}}> {{index $.L "enabled"}}</label>
<label>{{index $.L "account-sid"}} <input type="text" name="account-sid"{{invalid $.Marks "account-sid"}} value="{{.AccountSID}}"></label>
<label>{{index $.L "auth-token"}} <input type="password" name="auth-token"{{invalid $.Marks "auth-token"}} value="{{$.TypedToken}}" placeholder="{{if $.TokenSet}}(set: leave blank to keep it){{end}}" autocomplete="new-password"></label>
<label>{{index $.L "from-number"}} <input type="text" name="from-number"{{invalid $.Marks "from-number"}} value="{{.FromNumber}}"></label>
<label>{{index $.L "messaging-service-sid"}} <input type="text" name="messaging-service-sid"{{invalid $.Marks "messaging-service-sid"}} value="{{.MessagingServiceSID}}"></label>
<label>{{index $.L "api-key-sid"}} <input type="text" name="api-key-sid"{{invalid $.Marks "api-key-sid"}} value="{{.APIKeySID}}"></label>
<label>{{index $.L "api-key-secret"}} <input type="password" name="api-key-secret"{{invalid $.Marks "api-key-secret"}} value="{{$.TypedSecret}}" placeholder="{{if $.SecretSet}}(set: leave blank to keep it){{end}}" autocomplete="new-password"></label>
<label>{{index $.L "base-url"}} (empty: Twilio) <input type="text" name="base-url"{{invalid $.Marks "base-url"}} value="{{.BaseURL}}"></label>
{{end}}<button type="submit" name="action" value="save" id="save">Save Twilio settings</button>
<fieldset><legend>Test</legend>
<label>{{index $.L "to"}} <input type="text" name="test-to"{{invalid $.Marks "to"}} value="{{.TestTo}}" data-enter="send-test-sms" placeholder="+14155550100"></label>
<button type="submit" name="action" value="test" id="send-test-sms">Send Test SMS</button>
<p class="hint">The test sends with the settings in this form, saved or not. The send limits count it as they count two-factor codes: 5 an hour to one number.</p></fieldset>
</form>
{{with .Receipt}}<p class="box ok" id="test-result">Sent to {{$.TestTo}}: {{.SID}}, status {{.Status}}, {{.Segments}} segment(s).</p>{{end}}
{{with .Limited}}<div class="box err" id="test-result"><p id="limit-message">{{.UserMessage}}</p>
<p class="hint">Nothing was sent: the send limits refused it ({{limitText .}}), as they would a two-factor code.
They are the SDK's defaults, which a host ships against SMS pumping: 5 an hour to one number, 100 an hour to one country, 500 an hour in all.</p></div>{{end}}
{{with .TestError}}<p class="box err" id="test-result">{{.}}</p>{{end}}
{{with .Delivery}}{{template "delivery" .}}{{end}}
<h2>Recent test SMS</h2>
<p class="hint">The last 50, newest first, with the last status Twilio reported: those undelivered or failed never arrived.
Twilio reports to <code>{{.StatusURL}}</code>, signed with the saved auth token; the in-process fake reaches it, a real Twilio account does not (this app listens on loopback).</p>
<table id="recent-sms"><tr><th>Sent</th><th>To</th><th>Message</th><th>Status</th><th>Code</th><th>What it means</th></tr>
{{range .Recent}}<tr data-key="{{.Key}}" class="{{stateClass .Status.State}}"><td>{{stamp .SentAt}}</td><td>{{.To}}</td><td>{{if .SID}}<a href="/admin/twilio?key={{.Key}}#delivery"><code>{{.SID}}</code></a>{{end}}</td><td class="state">{{.Status.State}}</td><td class="code">{{.Status.ErrorCode}}</td><td class="reason">{{.Status.Reason}}{{with .NoStatus}} (no delivery status: {{.}}){{end}}</td></tr>
{{else}}<tr><td colspan="6">none yet</td></tr>{{end}}</table>
{{with .Refusals}}<p id="refusals">Refused by the send limits since the app started: {{.Number}} per number, {{.Country}} per country, {{.Overall}} overall, {{.NotAllowed}} to countries not allowed.</p>{{end}}
<h2>SMS received by the fake</h2><table id="sms">{{range .SMS}}<tr><td>{{.To}}</td><td>{{.Body}}</td></tr>{{else}}<tr><td>none yet</td></tr>{{end}}</table>
<script>
// Follows the test SMS of the #delivery box until its status is final,
// writing what the server would render from GET /admin/twilio/status.
(() => {
	const box = document.getElementById("delivery");
	if (!box || !box.dataset.poll) return;
	const key = box.dataset.key, started = Date.now();
	const cls = s => s === "delivered" ? "ok" : s === "undelivered" || s === "failed" ? "err" : "";
	const clock = at => new Date(at).toISOString().slice(11, 19) + " UTC";
	const state = (el, st) => {
		const b = document.createElement("strong");
		b.textContent = st.state;
		el.replaceChildren(b, (st["error-code"] ? " (error " + st["error-code"] + ")" : "") + ": " + (st.reason || ""));
	};
	const show = m => {
		box.className = "box " + cls(m.status.state);
		state(document.getElementById("delivery-state"), m.status);
		document.getElementById("delivery-steps").replaceChildren(...m.steps.map(st => {
			const li = document.createElement("li");
			state(li, st);
			li.prepend(clock(st.at) + ": ");
			return li;
		}));
		document.getElementById("delivery-waiting").hidden = m.final;
		const row = document.querySelector('#recent-sms tr[data-key="' + CSS.escape(key) + '"]');
		if (row) {
			row.className = cls(m.status.state);
			row.querySelector(".state").textContent = m.status.state;
			row.querySelector(".code").textContent = m.status["error-code"] || "";
			row.querySelector(".reason").textContent = m.status.reason || "";
		}
	};
	const poll = async () => {
		try {
			const r = await fetch("/admin/twilio/status?key=" + encodeURIComponent(key), {cache: "no-store"});
			if (r.ok) {
				const m = await r.json();
				show(m);
				if (m.final) return;
			}
		} catch (e) {} // the next poll tries again
		if (Date.now() - started < 10 * 60 * 1000) setTimeout(poll, 1000);
	};
	setTimeout(poll, 1000);
})();
</script>
{{template "foot" .}}{{end}}

{{define "delivery"}}<div class="box {{stateClass .Status.State}}" id="delivery" data-key="{{.Key}}"{{if not (or .Final .NoStatus)}} data-poll="on"{{end}}>
<h2>Delivery of the test SMS to {{.To}}</h2>
{{if .NoStatus}}<p id="delivery-state">No delivery status: {{.NoStatus}}.</p>{{else}}
<p id="delivery-state">{{template "state" .Status}}</p>
<ol id="delivery-steps">{{range .Steps}}<li>{{clock .At}}: {{template "state" .}}</li>{{end}}</ol>
<p class="hint"><span id="delivery-waiting"{{if .Final}} hidden{{end}}>Waiting for Twilio's next report; this box follows it. </span><a id="refresh-status" href="/admin/twilio?key={{.Key}}#delivery">Refresh status</a></p>{{end}}
</div>{{end}}

{{define "state"}}<strong>{{.State}}</strong>{{with .ErrorCode}} (error {{.}}){{end}}: {{.Reason}}{{end}}
`
