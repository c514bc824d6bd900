//! One registry session: an `oci-client` client configured from [`RegistryOptions`], its
//! credentials, and a current-thread tokio runtime that drives it behind a sync API. Every
//! answer is treated as hostile: sizes are bounded, digests recomputed here, and error text
//! from the registry escaped and shortened before it reaches a message.

use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};
use wasmchart_values::chartfs::{self, Limit};

use super::auth::{self, Credentials};
use super::helm::{self, Descriptor};
use super::{ChartRef, RegistryOptions};

/// Connecting must succeed within this.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// A registry that sends nothing for this long is dropped.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// One whole operation (a manifest, a blob, a tag list) must finish within this.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(15 * 60);

const CA_FILE: Limit = Limit {
    what: "a CA certificate file",
    bytes: 1 << 20,
};

/// A client, its credentials and a runtime, for one registry.
pub(crate) struct Session {
    rt: tokio::runtime::Runtime,
    client: Client,
    /// Fetches manifests and blobs: bounded reads, no scheme-changing redirects.
    http: reqwest::Client,
    scheme: &'static str,
    auth: RegistryAuth,
    creds: Option<Credentials>,
    registry: String,
}

impl Session {
    /// Configures a client for `registry` from `o`.
    pub fn new(registry: &str, o: &RegistryOptions) -> Result<Session> {
        install_crypto();
        let creds = auth::resolve(registry, o)?;
        let mut config = ClientConfig {
            protocol: if o.plain_http {
                ClientProtocol::Http
            } else {
                ClientProtocol::Https
            },
            accept_invalid_certificates: o.insecure_skip_tls_verify,
            platform_resolver: None,
            connect_timeout: Some(CONNECT_TIMEOUT),
            read_timeout: Some(READ_TIMEOUT),
            max_concurrent_download: 1,
            max_concurrent_upload: 1,
            user_agent: concat!("wasmchart/", env!("CARGO_PKG_VERSION")),
            ..ClientConfig::default()
        };
        let mut http = reqwest::Client::builder()
            .danger_accept_invalid_certs(o.insecure_skip_tls_verify)
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .user_agent(concat!("wasmchart/", env!("CARGO_PKG_VERSION")))
            .redirect(redirect_policy());
        if let Some(ca) = &o.ca_file {
            let data = chartfs::read_operator_file(ca, &CA_FILE)
                .with_context(|| format!("--ca-file {}", ca.display()))?;
            let certs = reqwest::Certificate::from_pem_bundle(&data)
                .ok()
                .filter(|c| !c.is_empty());
            let Some(certs) = certs else {
                bail!("--ca-file {}: not a PEM certificate bundle", ca.display());
            };
            http = http.tls_certs_merge(certs);
            config.extra_root_certificates.push(Certificate {
                encoding: CertificateEncoding::Pem,
                data,
            });
        }
        let http = http.build().map_err(|e| {
            anyhow!(
                "cannot configure a client for registry {registry}: {}",
                describe(&e)
            )
        })?;
        let client = Client::try_from(config).map_err(|e| {
            anyhow!(
                "cannot configure a client for registry {registry}: {}",
                describe(&e)
            )
        })?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the registry client's runtime")?;
        let auth = match &creds {
            Some(c) => RegistryAuth::Basic(c.username.clone(), c.password.clone()),
            None => RegistryAuth::Anonymous,
        };
        let session = Session {
            rt,
            client,
            http,
            scheme: if o.plain_http { "http" } else { "https" },
            auth,
            creds,
            registry: registry.to_string(),
        };
        if session.creds.is_some() && !o.plain_http {
            session.check_realm()?;
        }
        Ok(session)
    }

    fn reference(&self, r: &ChartRef, tag: Option<&str>) -> Result<Reference> {
        let s = match tag {
            Some(t) => format!("{}/{}:{t}", r.registry(), r.repository()),
            None => format!("{}/{}", r.registry(), r.repository()),
        };
        s.parse::<Reference>()
            .map_err(|e| anyhow!("{r}: not a valid OCI reference ({e})"))
    }

    /// Runs `fut` on the runtime, bounded by [`OPERATION_TIMEOUT`], mapping the client's
    /// error into a message that names `what` and the registry.
    fn run<T>(
        &self,
        what: &str,
        fut: impl Future<Output = Result<T, OciDistributionError>>,
    ) -> Result<T> {
        match self
            .rt
            .block_on(async { tokio::time::timeout(OPERATION_TIMEOUT, fut).await })
        {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(self.explain(what, &e)),
            Err(_) => bail!(
                "{what}: registry {} did not finish within {} seconds",
                self.registry,
                OPERATION_TIMEOUT.as_secs()
            ),
        }
    }

    /// Authenticates for `op` on `r` (a token exchange when the registry asks for one).
    fn authenticate(&self, r: &ChartRef, op: RegistryOperation) -> Result<Reference> {
        let reference = self.reference(r, None)?;
        self.run(
            &format!("{r}"),
            self.client.auth(&reference, &self.auth, op),
        )?;
        Ok(reference)
    }

    /// Every tag of `r`'s repository, following the registry's `Link` pages (same
    /// repository only): each page at most [`helm::MAX_MANIFEST`] bytes, at most
    /// [`MAX_TAG_PAGES`] pages and [`MAX_TAGS`] tags.
    pub fn tags(&self, r: &ChartRef) -> Result<Vec<String>> {
        let what = format!("listing the tags of {r}");
        let first = format!("/v2/{}/tags/list", r.repository());
        let mut next = Some(first.clone());
        let mut tags = Vec::new();
        let mut pages = 0;
        while let Some(path) = next.take() {
            pages += 1;
            if pages > MAX_TAG_PAGES {
                bail!(
                    "{what}: registry {} sent more than {MAX_TAG_PAGES} pages of tags",
                    self.registry
                );
            }
            let cap = helm::MAX_MANIFEST as u64;
            let (body, link) = match self.get(&what, r, &path, "application/json", cap)? {
                Got::Body(b, _, link) => (b, link),
                Got::TooLong(_) => bail!(
                    "{what}: registry {} sent a tag list page over {}; refused",
                    self.registry,
                    chartfs::size(cap)
                ),
            };
            #[derive(serde::Deserialize)]
            struct Page {
                #[serde(default)]
                tags: Option<Vec<String>>,
            }
            let page: Page = serde_json::from_slice(&body).map_err(|e| {
                anyhow!(
                    "{what}: registry {} sent a tag list that is not JSON ({e})",
                    self.registry
                )
            })?;
            tags.extend(page.tags.unwrap_or_default());
            if tags.len() > MAX_TAGS {
                bail!(
                    "{what}: registry {} lists more than {MAX_TAGS} tags",
                    self.registry
                );
            }
            next = link.and_then(|l| next_page(&l, &first));
        }
        Ok(tags)
    }

    /// The manifest `r:tag`: at most [`helm::MAX_MANIFEST`] bytes (refused as soon as the
    /// registry announces or sends more), its digest computed here from the bytes received
    /// and checked against the registry's `Docker-Content-Digest` when it sends one.
    pub fn manifest(&self, r: &ChartRef, tag: &str) -> Result<(Vec<u8>, String)> {
        let what = format!("{r}:{tag}");
        let path = format!("manifests/{tag}");
        let cap = helm::MAX_MANIFEST as u64;
        let (body, claimed) = match self.get(&what, r, &path, helm::MANIFEST_MEDIA_TYPE, cap)? {
            Got::Body(b, claimed, _) => (b, claimed),
            Got::TooLong(n) => bail!(
                "{what}: the registry sent a manifest of at least {}, over the {} cap; refused",
                chartfs::size(n),
                chartfs::size(cap)
            ),
        };
        let digest = helm::sha256(&body);
        if let Some(c) = claimed.filter(|c| *c != digest) {
            bail!(
                "{what}: the registry says the manifest's digest is {}, but the bytes it sent \
                 hash to {digest}; refused",
                crate::text::escape_short(&c, 100)
            );
        }
        Ok((body, digest))
    }

    /// The blob `d` of `r`: refused when the manifest declares more than `cap`, when the
    /// registry announces or sends more bytes than declared (reading stops there), or when
    /// the bytes' SHA-256 is not `d`'s digest.
    pub fn blob(&self, r: &ChartRef, d: &Descriptor, cap: u64) -> Result<Vec<u8>> {
        let what = format!("{r}: blob {}", d.digest);
        if d.size > cap {
            bail!(
                "{what}: the manifest declares {}, over the {} cap for a chart",
                chartfs::size(d.size),
                chartfs::size(cap)
            );
        }
        let path = format!("blobs/{}", d.digest);
        let body = match self.get(&what, r, &path, &d.media_type, d.size)? {
            Got::Body(b, ..) => b,
            Got::TooLong(n) => bail!(
                "{what}: the registry sent at least {n} bytes for a blob its manifest declares \
                 as {} bytes; refused",
                d.size
            ),
        };
        if body.len() as u64 != d.size || helm::sha256(&body) != d.digest {
            bail!(
                "{what}: the registry sent content that does not match the digest; the blob is \
                 corrupt or was tampered with, refused"
            );
        }
        Ok(body)
    }

    /// `GET /v2/REPO/PATH` with the session's credentials (the bearer token oci-client
    /// negotiated, or basic auth), reading at most `cap` bytes.
    fn get(&self, what: &str, r: &ChartRef, path: &str, accept: &str, cap: u64) -> Result<Got> {
        let reference = self.reference(r, None)?;
        let token = self.run(
            what,
            self.client
                .auth(&reference, &self.auth, RegistryOperation::Pull),
        )?;
        let url = if path.starts_with("/v2/") {
            format!("{}://{}{path}", self.scheme, r.registry())
        } else {
            format!(
                "{}://{}/v2/{}/{path}",
                self.scheme,
                r.registry(),
                r.repository()
            )
        };
        let fut = async {
            let mut req = self.http.get(&url).header(reqwest::header::ACCEPT, accept);
            req = match (&token, &self.creds) {
                (Some(t), _) => req.bearer_auth(t),
                (None, Some(c)) => req.basic_auth(&c.username, Some(&c.password)),
                (None, None) => req,
            };
            let mut resp = req.send().await?;
            let status = resp.status();
            if !status.is_success() {
                let mut body = Vec::new();
                while let Some(c) = resp.chunk().await? {
                    body.extend_from_slice(&c);
                    if body.len() > 64 * 1024 {
                        break;
                    }
                }
                return Ok(Err((status.as_u16(), body)));
            }
            let header = |name: &str| {
                resp.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let claimed = header("docker-content-digest");
            let link = header("link");
            if let Some(n) = resp.content_length().filter(|n| *n > cap) {
                return Ok(Ok(Got::TooLong(n)));
            }
            let mut body = Vec::new();
            while let Some(c) = resp.chunk().await? {
                let n = body.len() as u64 + c.len() as u64;
                if n > cap {
                    return Ok(Ok(Got::TooLong(n)));
                }
                body.extend_from_slice(&c);
            }
            Ok::<_, reqwest::Error>(Ok(Got::Body(body, claimed, link)))
        };
        let timed = self
            .rt
            .block_on(async { tokio::time::timeout(OPERATION_TIMEOUT, fut).await });
        match timed {
            Ok(Ok(Ok(got))) => Ok(got),
            Ok(Ok(Err((status, body)))) => Err(self.status_error(what, status, &body)),
            Ok(Err(e)) => Err(self.transport_error(what, &describe(&e))),
            Err(_) => bail!(
                "{what}: registry {} did not finish within {} seconds",
                self.registry,
                OPERATION_TIMEOUT.as_secs()
            ),
        }
    }

    /// A registry's non-2xx answer: who was refused, what was missing, or the status.
    fn status_error(&self, what: &str, status: u16, body: &[u8]) -> anyhow::Error {
        let reg = &self.registry;
        let codes: Vec<String> = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("errors").and_then(|e| e.as_array()).cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|e| e.get("code").and_then(|c| c.as_str()).map(str::to_string))
            .collect();
        match status {
            401 => anyhow!(
                "{what}: registry {reg} answered 401 unauthorized: {}",
                self.who()
            ),
            403 => anyhow!(
                "{what}: registry {reg} answered 403 forbidden: {}",
                self.who()
            ),
            404 if codes.iter().any(|c| c == "NAME_UNKNOWN") => {
                anyhow!("{what}: not found in registry {reg} (no such repository)")
            }
            404 if codes.iter().any(|c| c == "MANIFEST_UNKNOWN") => {
                anyhow!("{what}: not found in registry {reg} (no such tag)")
            }
            404 => anyhow!("{what}: not found in registry {reg} (HTTP 404)"),
            s => anyhow!(
                "{what}: registry {reg} answered HTTP {s}: {}",
                crate::text::escape_short(&String::from_utf8_lossy(body), 200)
            ),
        }
    }

    /// Who was refused, for 401 and 403 messages.
    fn who(&self) -> String {
        let reg = &self.registry;
        match &self.creds {
            Some(c) => format!(
                "the credentials for user {:?} (from {}) were rejected",
                c.username, c.source
            ),
            None => format!(
                "no credentials were found for {reg}; log in with `wasmchart registry login \
                 {reg} --username USER --password-stdin`, or pass --username and \
                 --password-stdin"
            ),
        }
    }

    /// A connection-level failure, with a hint for the usual TLS and plain-HTTP mistakes.
    fn transport_error(&self, what: &str, text: &str) -> anyhow::Error {
        let reg = &self.registry;
        if text.contains("(401 Unauthorized)") {
            return anyhow!(
                "{what}: registry {reg} answered 401 unauthorized: {}",
                self.who()
            );
        }
        let hint = if text.contains("certificate") || text.contains("UnknownIssuer") {
            "; the registry's TLS certificate is not trusted: pass its CA with --ca-file \
             (or --insecure-skip-tls-verify for a test registry)"
        } else if text.contains("InvalidContentType")
            || text.contains("wrong version number")
            || text.contains("corrupt message")
        {
            "; if the registry speaks plain HTTP, pass --plain-http"
        } else {
            ""
        };
        anyhow!("{what}: registry {reg}: {text}{hint}")
    }

    /// Uploads `data` as a blob of `r` unless the registry already holds it.
    pub fn push_blob(&self, r: &ChartRef, data: Vec<u8>, digest: &str) -> Result<()> {
        let reference = self.reference(r, None)?;
        let what = format!("{r}: uploading blob {digest}");
        if self.run(&what, self.client.blob_exists(&reference, digest))? {
            return Ok(());
        }
        self.run(&what, self.client.push_blob(&reference, data, digest))?;
        Ok(())
    }

    /// Uploads the manifest `body` as `r:tag`.
    pub fn push_manifest(&self, r: &ChartRef, tag: &str, body: Vec<u8>) -> Result<()> {
        let reference = self.reference(r, Some(tag))?;
        let what = format!("{r}:{tag}: uploading the manifest");
        let ct = reqwest::header::HeaderValue::from_static(helm::MANIFEST_MEDIA_TYPE);
        self.run(&what, self.client.push_manifest_raw(&reference, body, ct))?;
        Ok(())
    }

    /// Authenticates for pushing to `r` first, so a refusal is reported before any upload.
    /// Pull is needed too: oci-client checks for existing blobs with the pull token.
    pub fn begin_push(&self, r: &ChartRef) -> Result<()> {
        self.authenticate(r, RegistryOperation::Pull)?;
        self.authenticate(r, RegistryOperation::Push).map(drop)
    }

    /// Checks the session's credentials by listing `r`'s tags: a 401 or 403 fails, and so
    /// does an unreachable registry; "no such repository" means the login worked.
    pub fn check_login(&self, r: &ChartRef) -> Result<()> {
        match self.tags(r) {
            Err(e) if !format!("{e:#}").contains("not found in registry") => Err(e),
            _ => Ok(()),
        }
    }

    /// With credentials over HTTPS: refuses a registry whose token service (the `realm` of
    /// its Bearer challenge, where the credentials are sent) is plain HTTP.
    fn check_realm(&self) -> Result<()> {
        let url = format!("{}://{}/v2/", self.scheme, self.registry);
        let what = format!("registry {}", self.registry);
        let fut = async { self.http.get(&url).send().await };
        let resp = match self
            .rt
            .block_on(async { tokio::time::timeout(CONNECT_TIMEOUT + READ_TIMEOUT, fut).await })
        {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => return Err(self.transport_error(&what, &describe(&e))),
            Err(_) => bail!(
                "{what} did not answer within {} seconds",
                (CONNECT_TIMEOUT + READ_TIMEOUT).as_secs()
            ),
        };
        let challenge = resp
            .headers()
            .get(reqwest::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if let Some(realm) = bearer_realm(challenge).filter(|r| !r.starts_with("https://")) {
            bail!(
                "{what} asks for credentials to be sent to {} over plain HTTP; refused (the \
                 token service must use HTTPS)",
                crate::text::escape_short(&realm, 200)
            );
        }
        Ok(())
    }

    /// A one-paragraph message for `e`: what failed, the registry, the likely fix.
    fn explain(&self, what: &str, e: &OciDistributionError) -> anyhow::Error {
        let reg = &self.registry;
        match e {
            OciDistributionError::UnauthorizedError { .. } => self.status_error(what, 401, b""),
            OciDistributionError::AuthenticationFailure(reason) => anyhow!(
                "{what}: registry {reg} refused to authenticate ({}): {}",
                crate::text::escape_short(reason, 200),
                self.who()
            ),
            OciDistributionError::RegistryError { envelope, .. }
                if !envelope.errors.is_empty()
                    && envelope.errors.iter().all(|e| {
                        matches!(
                            e.code,
                            OciErrorCode::NameUnknown | OciErrorCode::ManifestUnknown
                        )
                    }) =>
            {
                let codes: Vec<_> = envelope
                    .errors
                    .iter()
                    .map(|e| serde_json::json!({ "code": code_name(&e.code) }))
                    .collect();
                let body = serde_json::json!({ "errors": codes }).to_string();
                self.status_error(what, 404, body.as_bytes())
            }
            OciDistributionError::ServerError { code, .. } if matches!(code, 401 | 403) => {
                self.status_error(what, *code, b"")
            }
            _ => self.transport_error(what, &describe(e)),
        }
    }
}

fn code_name(c: &OciErrorCode) -> &'static str {
    match c {
        OciErrorCode::NameUnknown => "NAME_UNKNOWN",
        OciErrorCode::ManifestUnknown => "MANIFEST_UNKNOWN",
        _ => "OTHER",
    }
}

/// The `realm` of a `Bearer realm="…",service="…"` challenge.
fn bearer_realm(challenge: &str) -> Option<String> {
    let (scheme, params) = challenge.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let at = params.to_ascii_lowercase().find("realm=")?;
    let value = &params[at + "realm=".len()..];
    let value = match value.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next()?,
        None => value.split(',').next()?,
    };
    Some(value.trim().to_string())
}

/// Tag list pages followed at most.
const MAX_TAG_PAGES: usize = 100;
/// Tags accepted at most, over all pages.
const MAX_TAGS: usize = 100_000;

/// The next page from a `Link: </v2/REPO/tags/list?last=…>; rel="next"` header: only a
/// path on the same registry and repository (`first`), never another host.
fn next_page(link: &str, first: &str) -> Option<String> {
    let rest = link.trim().strip_prefix('<')?;
    let (target, params) = rest.split_once('>')?;
    if !params.replace(' ', "").contains("rel=\"next\"") {
        return None;
    }
    let query = target.strip_prefix(first)?.strip_prefix('?')?;
    Some(format!("{first}?{query}"))
}

/// What a bounded GET gave.
enum Got {
    /// The body, the `Docker-Content-Digest` the registry claimed for it and its `Link`
    /// header, if any.
    Body(Vec<u8>, Option<String>, Option<String>),
    /// More bytes than allowed (at least this many, announced or received).
    TooLong(u64),
}

/// The error and its causes, escaped and bounded (registry text is untrusted).
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
        cur = s.source();
    }
    crate::text::escape_short(&parts.join(": "), 600)
}

/// At most 5 redirects, never to another scheme: a registry (or whoever answers for it)
/// may send a blob from a CDN, but may not silently downgrade HTTPS to HTTP. reqwest drops
/// the Authorization header when a redirect leaves the registry's host.
fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first().map(|u| u.scheme().to_string());
        if attempt.previous().len() > 5 {
            attempt.error("more than 5 redirects")
        } else if first.as_deref() != Some(attempt.url().scheme()) {
            let msg = format!(
                "refused a redirect from {} to {}: a registry may not change the scheme",
                first.unwrap_or_default(),
                attempt.url().scheme()
            );
            attempt.error(msg)
        } else {
            attempt.follow()
        }
    })
}

/// rustls needs one process-wide crypto provider; `ring` is the one compiled in.
fn install_crypto() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_pages_stay_on_the_repository() {
        let first = "/v2/x/api/tags/list";
        assert_eq!(
            next_page(r#"</v2/x/api/tags/list?n=2&last=b>; rel="next""#, first).as_deref(),
            Some("/v2/x/api/tags/list?n=2&last=b")
        );
        assert_eq!(
            next_page(
                r#"<https://evil/v2/x/api/tags/list?n=2>; rel="next""#,
                first
            ),
            None
        );
        assert_eq!(
            next_page(r#"</v2/other/tags/list?n=2>; rel="next""#, first),
            None
        );
        assert_eq!(
            next_page(r#"</v2/x/api/tags/list?n=2>; rel="prev""#, first),
            None
        );
    }

    #[test]
    fn realms_are_read_from_bearer_challenges() {
        let c = r#"Bearer realm="http://auth.example/token",service="r""#;
        assert_eq!(
            bearer_realm(c).as_deref(),
            Some("http://auth.example/token")
        );
        assert_eq!(bearer_realm(r#"Basic realm="x""#), None);
        assert_eq!(
            bearer_realm("bearer service=r,realm=https://a/t").as_deref(),
            Some("https://a/t")
        );
    }
}
