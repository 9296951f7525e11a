"""A SAML identity provider on pysaml2, for samlsp's pysaml2_test.go.

Run by the Go test as: python3 pysaml2_idp.py CONFIG.json

CONFIG.json (written by the test):
  {"key_file": PEM, "cert_file": PEM,
   "users": {"alice": {"password": "...", "name_id": "alice@example.com",
                       "attributes": {"Username": ["alice"], ...}}}}

It listens on 127.0.0.1 at a free port and prints one JSON line to stdout,
{"url": BASE}, once it serves. Its entity ID is BASE/metadata. Endpoints:

  GET  /metadata           its metadata (EntityDescriptor)
  POST /admin/sp-metadata  the SP's metadata as the body, as an admin
                           uploads it; no login works before
  GET  /sso/redirect       an AuthnRequest (HTTP-Redirect): the login form,
                           or with an IdP session at once the Response,
                           posted to the SP's ACS by an auto-submit form
  GET  /sso/unsolicited?sp=ENTITY_ID&RelayState=...
                           IdP-initiated login to that SP
  POST /login              the login form: username, password, and the
                           request it continues, as hidden fields
  GET  /slo/redirect       a LogoutRequest from the SP (its Redirect
                           signature checked against the SP metadata), or
                           the SP's LogoutResponse to ours
  GET  /slo/initiate       IdP-initiated logout of every SP of the session

Every response and assertion is signed (RSA-SHA256, SHA-256 digests) by
pysaml2 through xmlsec1. Nothing here is written for the Go SDK: it is
pysaml2's own Server doing the protocol.
"""

import html
import http.cookies
import http.server
import json
import secrets
import sys
import threading
import urllib.parse

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAME_FORMAT_BASIC, NAMEID_FORMAT_EMAILADDRESS, AUTHN_PASSWORD, NameID
from saml2.samlp import STATUS_SUCCESS
from saml2.server import Server
from saml2.sigver import get_xmlsec_binary, verify_redirect_signature
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256


def build_server(base, cfg):
    conf = IdPConfig()
    conf.load({
        "entityid": base + "/metadata",
        "name": "pysaml2 test IdP",
        "service": {"idp": {
            "endpoints": {
                "single_sign_on_service": [(base + "/sso/redirect", BINDING_HTTP_REDIRECT)],
                "single_logout_service": [(base + "/slo/redirect", BINDING_HTTP_REDIRECT)],
            },
            "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
            "policy": {"default": {
                "lifetime": {"minutes": 5},
                "attribute_restrictions": None,
                "name_form": NAME_FORMAT_BASIC,
            }},
            "want_authn_requests_signed": False,
            "sign_response": True,
            "sign_assertion": True,
        }},
        "key_file": cfg["key_file"],
        "cert_file": cfg["cert_file"],
        "xmlsec_binary": get_xmlsec_binary(["/usr/bin"]),
        "signing_algorithm": SIG_RSA_SHA256,
        "digest_algorithm": DIGEST_SHA256,
        "accepted_time_diff": 60,
        "metadata": {},
    })
    return Server(config=conf), create_metadata_string(None, config=conf).decode()


class IdP:
    """The IdP's state: pysaml2's Server and the IdP's own sessions."""

    def __init__(self, base, cfg):
        self.base = base
        self.users = cfg["users"]
        self.server, self.metadata = build_server(base, cfg)
        self.lock = threading.Lock()
        # session cookie -> {"user": NAME, "sps": {sp: (name_id, session_index)}}
        self.sessions = {}


class Handler(http.server.BaseHTTPRequestHandler):
    idp = None  # set before serving

    def log_message(self, fmt, *args):  # quiet: the Go test prints failures
        pass

    # --- plumbing

    def query(self):
        return {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query).items()}

    def form(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        return {k: v[0] for k, v in urllib.parse.parse_qs(body).items()}

    def session(self):
        c = http.cookies.SimpleCookie(self.headers.get("Cookie", ""))
        sid = c["idp_session"].value if "idp_session" in c else ""
        with self.idp.lock:
            return sid, self.idp.sessions.get(sid)

    def send(self, status, body, ctype="text/html; charset=utf-8", headers=()):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def fail(self, status, msg):
        self.send(status, "<!DOCTYPE html><title>IdP error</title><p id=error>%s</p>" % html.escape(msg))

    def apply(self, http_args, headers=()):
        """Sends pysaml2's apply_binding result: a redirect or a form."""
        hdrs = list(headers) + [(k, v) for k, v in http_args["headers"] if k != "Content-type"]
        if http_args.get("method") == "GET" or http_args.get("status") in (302, 303):
            self.send(303, "", headers=hdrs)
            return
        self.send(200, http_args["data"], headers=hdrs)

    # --- routes

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        try:
            if path == "/metadata":
                self.send(200, self.idp.metadata, "application/samlmetadata+xml")
            elif path == "/sso/redirect":
                self.sso(self.query())
            elif path == "/sso/unsolicited":
                self.sso(self.query())
            elif path == "/slo/redirect":
                self.slo(self.query())
            elif path == "/slo/initiate":
                self.slo_initiate()
            else:
                self.fail(404, "no such page")
        except Exception as exc:  # the Go test shows it
            self.fail(500, "%s: %s" % (type(exc).__name__, exc))

    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        try:
            if path == "/admin/sp-metadata":
                xml = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                self.idp.server.metadata.load("inline", xml)
                self.send(204, "")
            elif path == "/login":
                self.login(self.form())
            else:
                self.fail(404, "no such page")
        except Exception as exc:
            self.fail(500, "%s: %s" % (type(exc).__name__, exc))

    # --- single sign-on

    def sso(self, params):
        """Answers a request (SAMLRequest) or an IdP-initiated login (sp),
        asking for the password first when there is no IdP session."""
        sid, sess = self.session()
        if sess is None:
            hidden = "".join('<input type="hidden" name="%s" value="%s">' % (html.escape(k), html.escape(v))
                             for k, v in params.items())
            self.send(200, '<!DOCTYPE html><title>Log in</title><form id="login" method="post" action="/login">'
                           '%s<input name="username"><input name="password" type="password">'
                           '<button>Log in</button></form>' % hidden)
            return
        self.respond(params, sess["user"], sid)

    def login(self, form):
        username, password = form.pop("username", ""), form.pop("password", "")
        user = self.idp.users.get(username)
        if user is None or not secrets.compare_digest(user["password"], password):
            self.fail(403, "wrong username or password")
            return
        sid = secrets.token_urlsafe(16)
        with self.idp.lock:
            self.idp.sessions[sid] = {"user": username, "sps": {}}
        cookie = ("Set-Cookie", "idp_session=%s; Path=/; HttpOnly; SameSite=Lax" % sid)
        self.respond(form, username, sid, [cookie])

    def respond(self, params, username, sid, headers=()):
        server = self.idp.server
        user = self.idp.users[username]
        if "SAMLRequest" in params:
            req = server.parse_authn_request(params["SAMLRequest"], BINDING_HTTP_REDIRECT)
            args = server.response_args(req.message, [BINDING_HTTP_POST])
        else:  # IdP-initiated: no request to answer
            sp = params["sp"]
            binding, destination = server.pick_binding(
                "assertion_consumer_service", [BINDING_HTTP_POST], "spsso", entity_id=sp)
            args = {"in_response_to": None, "sp_entity_id": sp, "destination": destination, "binding": binding}
        name_id = NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=user["name_id"])
        resp = server.create_authn_response(
            identity=user["attributes"],
            in_response_to=args["in_response_to"],
            destination=args["destination"],
            sp_entity_id=args["sp_entity_id"],
            name_id=name_id,
            authn={"class_ref": AUTHN_PASSWORD, "authn_auth": self.idp.base},
            sign_response=True,
            sign_assertion=True,
            sign_alg=SIG_RSA_SHA256,
            digest_alg=DIGEST_SHA256,
        )
        xml = str(resp)
        index = xml.split('SessionIndex="', 1)[1].split('"', 1)[0]
        with self.idp.lock:
            self.idp.sessions[sid]["sps"][args["sp_entity_id"]] = (user["name_id"], index)
        http_args = server.apply_binding(BINDING_HTTP_POST, xml, args["destination"],
                                         params.get("RelayState", ""), response=True)
        self.apply(http_args, headers)

    # --- single logout

    def slo(self, params):
        server = self.idp.server
        if "SAMLRequest" in params:
            req = server.parse_logout_request(params["SAMLRequest"], BINDING_HTTP_REDIRECT)
            sp = req.message.issuer.text
            # The SP signs its requests (its metadata says so); an
            # unsigned or badly signed one is refused, as IdPs do.
            certs = server.metadata.certs(sp, "spsso", "signing")
            if "Signature" not in params or not any(
                    verify_redirect_signature(params, server.sec.sec_backend, cert=c) for c in certs):
                self.fail(403, "the LogoutRequest is not signed with the SP's certificate")
                return
            sid, sess = self.session()
            ours = sess is not None and sp in sess["sps"] and sess["sps"][sp][0] == req.message.name_id.text
            if ours:
                with self.idp.lock:
                    del self.idp.sessions[sid]
            resp = server.create_logout_response(
                req.message, [BINDING_HTTP_REDIRECT],
                status=None if ours else _status_responder(), sign=False,
                sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256)
            args = server.response_args(req.message, [BINDING_HTTP_REDIRECT])
            http_args = server.apply_binding(BINDING_HTTP_REDIRECT, str(resp), args["destination"],
                                             params.get("RelayState", ""), response=True, sign=True,
                                             sigalg=SIG_RSA_SHA256)
            expire = ("Set-Cookie", "idp_session=; Path=/; Max-Age=0")
            self.apply(http_args, [expire])
        elif "SAMLResponse" in params:
            resp = server.parse_logout_request_response(params["SAMLResponse"], BINDING_HTTP_REDIRECT)
            ok = resp.response.status.status_code.value == STATUS_SUCCESS
            self.send(200, '<!DOCTYPE html><title>Logged out</title><p id="slo">%s</p>'
                      % ("logged out of " + resp.response.issuer.text if ok else "logout failed"))
        else:
            self.fail(400, "no SAMLRequest or SAMLResponse")

    def slo_initiate(self):
        """Logs the session out of its first SP: a LogoutRequest there."""
        server = self.idp.server
        sid, sess = self.session()
        if sess is None or not sess["sps"]:
            self.fail(400, "no IdP session to log out")
            return
        sp, (name_id, index) = next(iter(sess["sps"].items()))
        binding, destination = server.pick_binding(
            "single_logout_service", [BINDING_HTTP_REDIRECT], "spsso", entity_id=sp)
        req_id, req = server.create_logout_request(
            destination, sp, name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=name_id),
            session_indexes=[index], sign=False, sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256)
        with self.idp.lock:
            del self.idp.sessions[sid]
        http_args = server.apply_binding(binding, str(req), destination, "after-idp-logout",
                                         sign=True, sigalg=SIG_RSA_SHA256)
        self.apply(http_args, [("Set-Cookie", "idp_session=; Path=/; Max-Age=0")])


def _status_responder():
    from saml2.samlp import STATUS_RESPONDER, Status, StatusCode
    return Status(status_code=StatusCode(value=STATUS_RESPONDER))


def main():
    with open(sys.argv[1]) as f:
        cfg = json.load(f)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = "http://127.0.0.1:%d" % httpd.server_address[1]
    Handler.idp = IdP(base, cfg)
    print(json.dumps({"url": base}), flush=True)
    # The test closes stdin to stop the IdP (and it dies with the test).
    threading.Thread(target=lambda: (sys.stdin.read(), httpd.shutdown()), daemon=True).start()
    httpd.serve_forever()


if __name__ == "__main__":
    main()
