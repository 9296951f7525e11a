package main

// pagesHTML holds every page: plain HTML, no JavaScript except the one line
// that submits the IdP's auto-posting form.
const pagesHTML = `
{{define "head"}}<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} · webapp</title>
<style>
body{font-family:system-ui,sans-serif;max-width:62em;margin:1.5em auto;padding:0 1em;line-height:1.4}
nav a{margin-right:1em} label{display:block;margin:.4em 0} input[type=text],input[type=url],input[type=password],textarea,select{width:100%;box-sizing:border-box}
textarea{height:6em;font-family:monospace} .err{color:#b00} .ok{color:#070} pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f4f4f4;padding:.8em}
fieldset{margin:1em 0} table{border-collapse:collapse} td,th{padding:.2em .6em;border-bottom:1px solid #ddd;text-align:left}
</style></head><body>
<nav><a href="/">Home</a><a href="/diff">Team sync</a><a href="/admin/saml">SAML</a><a href="/admin/smtp">SMTP</a><a href="/admin/twilio">Twilio</a><a href="/saml/metadata">SP metadata</a><a href="/idp/metadata">IdP metadata</a></nav>
<h1>{{.Title}}</h1>{{end}}

{{define "foot"}}</body></html>{{end}}

{{define "message"}}{{template "head" .}}<p>{{.Text}}</p>{{if .Home}}<p><a href="/">Home</a></p>{{end}}{{template "foot" .}}{{end}}

{{define "home"}}{{template "head" .}}
{{with .Session}}
<p id="who">Logged in as <strong>{{.NameID.Value}}</strong> ({{.Via}} login, IdP session <code>{{.SessionIndex}}</code>).</p>
{{with $.User}}<p>Username <strong>{{.Username}}</strong>{{if .SiteAdmin}}, site admin{{end}}{{if .ServiceAccount}}, service account{{end}}; teams:
{{range .Teams}}<code>{{.Org}}/{{.Name}}</code> {{else}}none{{end}}</p>{{end}}
<h2>Attributes</h2><table>{{range $.Attributes}}<tr><th>{{index . 0}}</th><td>{{index . 1}}</td></tr>{{end}}</table>
<p><a href="/diff">What team sync did at this login</a></p>
<form method="post" action="/saml/logout"><button id="logout">Log out (here and at the IdP)</button></form>
<form method="post" action="/idp/logout"><button>Log out at the IdP (IdP-initiated single logout)</button></form>
{{else}}
<p id="who">Not logged in.</p>
<p><a id="login" href="/saml/login?return_to=/diff">Log in with SSO</a> (SP-initiated: an AuthnRequest goes to the test IdP)</p>
<p><a href="/idp/sso">Log in at the IdP</a> (IdP-initiated: the IdP posts an unsolicited response)</p>
{{end}}
{{template "foot" .}}{{end}}

{{define "diff"}}{{template "head" .}}
<p>Login of <strong>{{.Session.NameID.Value}}</strong>. Team sync {{if .Session.DiffEmpty}}changed nothing{{else}}made these changes{{end}}:</p>
<pre id="diff">{{.Session.Diff}}</pre>
{{with .User}}<h2>{{.Username}} now</h2><p>{{if .SiteAdmin}}Site admin. {{end}}Teams: {{range .Teams}}<code>{{.Org}}/{{.Name}}</code> {{else}}none{{end}}</p>{{end}}
<h2>The directory: two organizations</h2>
<table><tr><th>Organization</th><th>Team</th><th>SSO Team ID</th><th>Members</th></tr>
{{range .Teams}}<tr><td>{{.Org}}</td><td>{{.Name}}{{if .Owners}} (owners){{end}}</td><td>{{.SSOTeamID}}</td><td>{{.Members}}</td></tr>{{end}}</table>
{{template "foot" .}}{{end}}

{{define "post"}}<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title></head><body>
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
<button type="submit">Log in</button>
</form>
{{template "foot" .}}{{end}}

{{define "errors"}}{{with .Errors}}<div class="err"><p>Not saved:</p><ul>{{range $f, $p := .}}<li>{{if $f}}<code>{{$f}}</code>: {{end}}{{$p}}</li>{{end}}</ul></div>{{end}}{{if .Saved}}<p class="ok">Saved.</p>{{end}}{{end}}

{{define "admin-saml"}}{{template "head" .}}{{template "errors" .}}
<p>This service provider: entity ID <code>{{.Base}}/saml/metadata</code>, ACS <code>{{.Base}}/saml/acs</code>, SLO <code>{{.Base}}/saml/slo</code>.</p>
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
<label><input type="checkbox" name="enabled" {{if .Enabled}}checked{{end}}> Enable SAML single sign-on</label>
<label><input type="checkbox" name="debug" {{if .Debug}}checked{{end}}> Enable SAML debugging (failed logins show every check)</label>
<fieldset><legend>Identity provider</legend>
<label>IdP metadata URL (https; keeps the IdP's certificates current, rollovers included) <input type="url" name="idp-metadata-url" value="{{.IdPMetadataURL}}"></label>
<label>Metadata signing certificate (PEM; optional: without it TLS alone vouches for the metadata) <textarea name="idp-metadata-signing-certificate">{{.IdPMetadataSigningCertificate}}</textarea></label>
<label>IdP metadata XML (or fill the fields below; with a URL, the last good metadata fetched) <textarea name="idp-metadata">{{.IdPMetadata}}</textarea></label>
<label>IdP entity ID <input type="text" name="idp-entity-id" value="{{.IdPEntityID}}"></label>
<label>Single sign-on URL <input type="url" name="sso-url" value="{{.SSOURL}}"></label>
<label>Single logout URL <input type="url" name="slo-url" value="{{.SLOURL}}"></label>
<label>IdP certificate (PEM) <textarea name="idp-certificate">{{.IdPCertificate}}</textarea></label>
<label>Old IdP certificate, kept during a rotation (PEM) <textarea name="idp-old-certificate">{{.IdPOldCertificate}}</textarea></label>
<label><input type="checkbox" name="allow-idp-initiated" {{if .AllowIdPInitiated}}checked{{end}}> Allow IdP-initiated login</label>
</fieldset>
<fieldset><legend>Signatures</legend>
<label><input type="checkbox" name="authn-requests-signed" {{if .AuthnRequestsSigned}}checked{{end}}> Sign AuthnRequests and LogoutRequests</label>
<label><input type="checkbox" name="want-assertions-signed" {{if .WantAssertionsSigned}}checked{{end}}> Want assertions signed</label>
<label>SP certificate (PEM) <textarea name="sp-certificate">{{.SPCertificate}}</textarea></label>
<label>SP private key (PEM) <textarea name="sp-private-key" placeholder="{{if $.KeySet}}(set: leave blank to keep it){{end}}"></textarea></label>
<label>Signature method <select name="signature-method">{{$m := .SignatureMethod}}{{range $o := $.Methods}}<option value="{{$o}}" {{if eq $o $m}}selected{{end}}>{{or $o "SHA256 (default)"}}</option>{{end}}</select></label>
<label>Digest method <select name="digest-method">{{$d := .DigestMethod}}{{range $o := $.Methods}}<option value="{{$o}}" {{if eq $o $d}}selected{{end}}>{{or $o "SHA256 (default)"}}</option>{{end}}</select></label>
</fieldset>
<fieldset><legend>Team sync</legend>
<label><input type="checkbox" name="team-sync" {{if .TeamSync}}checked{{end}}> Use SAML to manage team memberships</label>
<label>Team attribute (default MemberOf) <input type="text" name="team-attribute" value="{{.TeamAttribute}}"></label>
<label>Username attribute (default Username) <input type="text" name="username-attribute" value="{{.UsernameAttribute}}"></label>
<label>Site admin attribute (default SiteAdmin) <input type="text" name="site-admin-attribute" value="{{.SiteAdminAttribute}}"></label>
<label>Site admin role (default site-admins) <input type="text" name="site-admin-role" value="{{.SiteAdminRole}}"></label>
<label>Service account attribute (default IsServiceAccount) <input type="text" name="service-account-attribute" value="{{.ServiceAccountAttribute}}"></label>
</fieldset>
{{end}}<button type="submit">Save SAML settings</button></form>
{{template "foot" .}}{{end}}

{{define "admin-smtp"}}{{template "head" .}}{{template "errors" .}}
<p>By default these settings point at an in-process SMTP server (<code>{{.Fake}}</code>, with its own CA and user <code>app</code>); put a real server's here to send real mail.</p>
<form method="post">{{with .S}}
<label><input type="checkbox" name="enabled" {{if .Enabled}}checked{{end}}> Enable email sending</label>
<label>Sender <input type="text" name="sender" value="{{.Sender}}"></label>
<label>Host <input type="text" name="host" value="{{.Host}}"></label>
<label>Port <input type="text" name="port" value="{{.Port}}"></label>
<label>Authentication <select name="authentication">{{$a := printf "%s" .Authentication}}{{range $o := $.Auths}}<option value="{{$o}}" {{if eq $o $a}}selected{{end}}>{{$o}}</option>{{end}}</select></label>
<label>Username <input type="text" name="username" value="{{.Username}}"></label>
<label>Password <input type="password" name="password" placeholder="{{if $.PasswordSet}}(set: leave blank to keep it){{end}}"></label>
<label>TLS <select name="tls">{{$t := printf "%s" .TLS}}{{range $o := $.TLSModes}}<option value="{{$o}}" {{if eq $o $t}}selected{{end}}>{{or $o "by port (default)"}}</option>{{end}}</select></label>
{{end}}<button type="submit" name="action" value="save">Save SMTP settings</button>
<label>Send test email to <input type="text" name="test-to" value="{{.TestTo}}"></label>
<button type="submit" name="action" value="test" id="send-test-email">Send test email</button>
</form>
{{with .Report}}<h2>Test email</h2><table>{{range .Steps}}<tr><td>{{if .OK}}<span class="ok">✔</span>{{else}}<span class="err">✘</span>{{end}}</td><td>{{.Name}}</td><td>{{.Detail}}</td></tr>{{end}}</table>
{{if .Accepted}}<p class="ok" id="test-result">Accepted: {{.Reply}}</p>{{end}}{{end}}
{{with .TestError}}<p class="err" id="test-result">{{.}}</p>{{end}}
<h2>Mail received by the in-process server</h2><table>{{range .Mail}}<tr><td>{{join .To ", "}}</td><td>{{.Subject}}</td></tr>{{else}}<tr><td>none yet</td></tr>{{end}}</table>
{{template "foot" .}}{{end}}

{{define "admin-twilio"}}{{template "head" .}}{{template "errors" .}}
<p>By default these settings point at an in-process fake of Twilio's API (<code>{{.Fake}}</code>); clear the base URL and put real credentials here to send real SMS.</p>
<form method="post">{{with .S}}
<label><input type="checkbox" name="enabled" {{if .Enabled}}checked{{end}}> Enable SMS sending</label>
<label>Account SID <input type="text" name="account-sid" value="{{.AccountSID}}"></label>
<label>Auth token <input type="password" name="auth-token" placeholder="{{if $.TokenSet}}(set: leave blank to keep it){{end}}"></label>
<label>From number <input type="text" name="from-number" value="{{.FromNumber}}"></label>
<label>Messaging Service SID <input type="text" name="messaging-service-sid" value="{{.MessagingServiceSID}}"></label>
<label>API key SID <input type="text" name="api-key-sid" value="{{.APIKeySID}}"></label>
<label>API key secret <input type="password" name="api-key-secret" placeholder="{{if $.SecretSet}}(set: leave blank to keep it){{end}}"></label>
<label>Base URL (empty: Twilio) <input type="text" name="base-url" value="{{.BaseURL}}"></label>
{{end}}<button type="submit" name="action" value="save">Save Twilio settings</button>
<label>Send Test SMS to <input type="text" name="test-to" value="{{.TestTo}}" placeholder="+14155550100"></label>
<button type="submit" name="action" value="test" id="send-test-sms">Send Test SMS</button>
</form>
{{with .Receipt}}<p class="ok" id="test-result">Sent: {{.SID}}, status {{.Status}}, {{.Segments}} segment(s).</p>{{end}}
{{with .TestError}}<p class="err" id="test-result">{{.}}</p>{{end}}
<h2>SMS received by the fake</h2><table>{{range .SMS}}<tr><td>{{.To}}</td><td>{{.Body}}</td></tr>{{else}}<tr><td>none yet</td></tr>{{end}}</table>
{{template "foot" .}}{{end}}
`
