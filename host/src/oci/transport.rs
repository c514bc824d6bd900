//! One registry session: an `oci-client` client configured from [`RegistryOptions`], its
//! credentials, and a current-thread tokio runtime that drives it behind a sync API. Every
//! answer is treated as hostile: sizes are bounded, digests recomputed here, and error text
//! from the registry escaped and shortened before it reaches a message.

use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use futures_util::StreamExt as _;
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::{DigestError, OciDistributionError, OciErrorCode};
use oci_client::manifest::OciDescriptor;
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
        if let Some(ca) = &o.ca_file {
            let data = chartfs::read_operator_file(ca, &CA_FILE)
                .with_context(|| format!("--ca-file {}", ca.display()))?;
            if !data.starts_with(b"-----BEGIN") && !data.windows(10).any(|w| w == b"-----BEGIN") {
                bail!("--ca-file {}: not a PEM certificate", ca.display());
            }
            config.extra_root_certificates.push(Certificate {
                encoding: CertificateEncoding::Pem,
                data,
            });
        }
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
        Ok(Session {
            rt,
            client,
            auth,
            creds,
            registry: registry.to_string(),
        })
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

    /// Every tag of `r`'s repository.
    pub fn tags(&self, r: &ChartRef) -> Result<Vec<String>> {
        let reference = self.authenticate(r, RegistryOperation::Pull)?;
        let what = format!("listing the tags of {r}");
        let resp = self.run(
            &what,
            self.client.list_tags(&reference, &self.auth, None, None),
        )?;
        Ok(resp.tags)
    }

    /// The manifest `r:tag`, at most [`helm::MAX_MANIFEST`] bytes, with its digest
    /// recomputed here from the bytes received.
    pub fn manifest(&self, r: &ChartRef, tag: &str) -> Result<(Vec<u8>, String)> {
        self.authenticate(r, RegistryOperation::Pull)?;
        let reference = self.reference(r, Some(tag))?;
        let what = format!("{r}:{tag}");
        let (body, _claimed) = self.run(
            &what,
            self.client
                .pull_manifest_raw(&reference, &self.auth, &[helm::MANIFEST_MEDIA_TYPE]),
        )?;
        if body.len() > helm::MAX_MANIFEST {
            bail!(
                "{what}: the registry sent a manifest of {}, over the {} cap",
                chartfs::size(body.len() as u64),
                chartfs::size(helm::MAX_MANIFEST as u64)
            );
        }
        let digest = helm::sha256(&body);
        Ok((body.to_vec(), digest))
    }

    /// The blob `d` of `r`: refused when the manifest declares more than `cap`, when the
    /// registry sends more or fewer bytes than declared, or when their SHA-256 is not `d`'s.
    pub fn blob(&self, r: &ChartRef, d: &Descriptor, cap: u64) -> Result<Vec<u8>> {
        let what = format!("{r}: blob {}", d.digest);
        if d.size > cap {
            bail!(
                "{what}: the manifest declares {}, over the {} cap for a chart",
                chartfs::size(d.size),
                chartfs::size(cap)
            );
        }
        let reference = self.reference(r, None)?;
        let desc = OciDescriptor {
            media_type: d.media_type.clone(),
            digest: d.digest.clone(),
            size: i64::try_from(d.size).unwrap_or(i64::MAX),
            ..OciDescriptor::default()
        };
        let outcome = self.run(&what, async {
            let mut stream = self.client.pull_blob_stream(&reference, &desc).await?;
            if let Some(n) = stream.content_length.filter(|n| *n > d.size) {
                return Ok(Blob::TooLong(n));
            }
            let mut out = Vec::new();
            while let Some(chunk) = stream.next().await {
                let chunk = match chunk {
                    Ok(c) => c,
                    Err(e) if is_digest_mismatch(&e) => return Ok(Blob::Mismatch),
                    Err(e) => return Err(OciDistributionError::IoError(e)),
                };
                let n = out.len() as u64 + chunk.len() as u64;
                if n > d.size {
                    return Ok(Blob::TooLong(n));
                }
                out.extend_from_slice(&chunk);
            }
            Ok(Blob::Body(out))
        })?;
        let tampered = || {
            anyhow!(
                "{what}: the registry sent content that does not match the digest; the blob is \
                 corrupt or was tampered with, refused"
            )
        };
        let body = match outcome {
            Blob::Body(b) => b,
            Blob::Mismatch => return Err(tampered()),
            Blob::TooLong(n) => bail!(
                "{what}: the registry sent at least {n} bytes for a blob its manifest declares \
                 as {} bytes; refused",
                d.size
            ),
        };
        if body.len() as u64 != d.size || helm::sha256(&body) != d.digest {
            return Err(tampered());
        }
        Ok(body)
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
        let ct = http::HeaderValue::from_static(helm::MANIFEST_MEDIA_TYPE);
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
    /// does an unreachable registry; a 404 (no such repository) means the login worked.
    pub fn check_login(&self, r: &ChartRef) -> Result<()> {
        let reference = self.reference(r, None)?;
        let fut = async {
            self.client
                .auth(&reference, &self.auth, RegistryOperation::Pull)
                .await?;
            self.client
                .list_tags(&reference, &self.auth, None, None)
                .await
                .map(drop)
        };
        let what = format!("logging in to {}", self.registry);
        self.run(&what, async {
            match fut.await {
                Err(OciDistributionError::RegistryError { envelope, .. })
                    if envelope
                        .errors
                        .iter()
                        .all(|e| matches!(e.code, OciErrorCode::NameUnknown)) =>
                {
                    Ok(())
                }
                Err(OciDistributionError::ServerError { code: 404, .. }) => Ok(()),
                other => other,
            }
        })
    }

    /// A one-paragraph message for `e`: what failed, the registry, the likely fix.
    fn explain(&self, what: &str, e: &OciDistributionError) -> anyhow::Error {
        let reg = &self.registry;
        let who = match &self.creds {
            Some(c) => format!(
                "the credentials for user {:?} (from {}) were rejected",
                c.username, c.source
            ),
            None => format!(
                "no credentials were found for {reg}; log in with `wasmchart registry login \
                 {reg} --username USER --password-stdin`, or pass --username and \
                 --password-stdin"
            ),
        };
        match e {
            OciDistributionError::UnauthorizedError { .. } => {
                anyhow!("{what}: registry {reg} answered 401 unauthorized: {who}")
            }
            OciDistributionError::AuthenticationFailure(reason) => anyhow!(
                "{what}: registry {reg} refused to authenticate ({}): {who}",
                crate::text::escape_short(reason, 200)
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
                let name = envelope
                    .errors
                    .iter()
                    .any(|e| matches!(e.code, OciErrorCode::NameUnknown));
                let what_missing = if name {
                    "no such repository"
                } else {
                    "no such tag"
                };
                anyhow!("{what}: not found in registry {reg} ({what_missing})")
            }
            OciDistributionError::ServerError { code: 401, .. } => {
                anyhow!("{what}: registry {reg} answered 401 unauthorized: {who}")
            }
            OciDistributionError::ServerError { code: 403, .. } => {
                anyhow!("{what}: registry {reg} answered 403 forbidden: {who}")
            }
            _ => {
                let text = describe(e);
                if text.contains("(401 Unauthorized)") {
                    return anyhow!("{what}: registry {reg} answered 401 unauthorized: {who}");
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
        }
    }
}

/// What a blob download gave.
enum Blob {
    Body(Vec<u8>),
    /// More bytes than the manifest declares (at least this many).
    TooLong(u64),
    /// oci-client's own check found the bytes do not hash to the digest.
    Mismatch,
}

fn is_digest_mismatch(e: &std::io::Error) -> bool {
    e.get_ref()
        .and_then(|i| i.downcast_ref::<DigestError>())
        .is_some_and(|d| matches!(d, DigestError::VerificationError { .. }))
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

/// rustls needs one process-wide crypto provider; `ring` is the one compiled in.
fn install_crypto() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
