//! The cluster a render targets: `--kube-version` and `-a/--api-versions`, checked, and the
//! API versions a Kubernetes minor version serves by default.
//!
//! Components choose what to emit from these capabilities exactly as Helm charts do with
//! `.Capabilities.APIVersions.Has`, so the list must follow `--kube-version`: a 1.22 cluster
//! serves `autoscaling/v2beta2`, not `autoscaling/v2`. A typo (`--kube-version banana`) would
//! silently render for the wrong cluster, so both flags are validated.

use crate::post::names::is_subdomain;

/// Oldest Kubernetes minor version whose built-in API list is known.
pub const OLDEST_MINOR: u32 = 19;
/// Newest Kubernetes minor version whose built-in API list is known; newer minors use it
/// (they remove nothing a chart in this range may rely on without a deprecation cycle).
pub const NEWEST_MINOR: u32 = 33;

/// Group/versions served by default, each with the first and last minor version (inclusive)
/// that serves it. Alpha versions and betas that ship disabled are left out, as are the
/// flowcontrol betas (nothing a chart renders depends on them).
const SERVED: &[(&str, u32, u32)] = &[
    ("admissionregistration.k8s.io/v1", 19, u32::MAX),
    ("admissionregistration.k8s.io/v1beta1", 19, 21),
    ("apiextensions.k8s.io/v1", 19, u32::MAX),
    ("apiextensions.k8s.io/v1beta1", 19, 21),
    ("apiregistration.k8s.io/v1", 19, u32::MAX),
    ("apiregistration.k8s.io/v1beta1", 19, 21),
    ("apps/v1", 19, u32::MAX),
    ("authentication.k8s.io/v1", 19, u32::MAX),
    ("authentication.k8s.io/v1beta1", 19, 21),
    ("authorization.k8s.io/v1", 19, u32::MAX),
    ("authorization.k8s.io/v1beta1", 19, 21),
    ("autoscaling/v1", 19, u32::MAX),
    ("autoscaling/v2", 23, u32::MAX),
    ("autoscaling/v2beta1", 19, 24),
    ("autoscaling/v2beta2", 19, 25),
    ("batch/v1", 19, u32::MAX),
    ("batch/v1beta1", 19, 24),
    ("certificates.k8s.io/v1", 19, u32::MAX),
    ("certificates.k8s.io/v1beta1", 19, 21),
    ("coordination.k8s.io/v1", 19, u32::MAX),
    ("coordination.k8s.io/v1beta1", 19, 21),
    ("discovery.k8s.io/v1", 21, u32::MAX),
    ("discovery.k8s.io/v1beta1", 19, 24),
    ("events.k8s.io/v1", 19, u32::MAX),
    ("events.k8s.io/v1beta1", 19, 24),
    ("extensions/v1beta1", 19, 21),
    ("flowcontrol.apiserver.k8s.io/v1", 29, u32::MAX),
    ("networking.k8s.io/v1", 19, u32::MAX),
    ("networking.k8s.io/v1beta1", 19, 21),
    ("node.k8s.io/v1", 20, u32::MAX),
    ("node.k8s.io/v1beta1", 19, 24),
    ("policy/v1", 21, u32::MAX),
    ("policy/v1beta1", 19, 24),
    ("rbac.authorization.k8s.io/v1", 19, u32::MAX),
    ("rbac.authorization.k8s.io/v1beta1", 19, 21),
    ("scheduling.k8s.io/v1", 19, u32::MAX),
    ("scheduling.k8s.io/v1beta1", 19, 21),
    ("storage.k8s.io/v1", 19, u32::MAX),
    ("storage.k8s.io/v1beta1", 19, 26),
    ("v1", 19, u32::MAX),
];

/// Parses `--kube-version`: `v1.31.0`, `1.31`, `v1.31`, `1.31.2`, optionally with a
/// pre-release or build suffix (`v1.30.4-gke.1`), as Helm accepts it. Returns the form Helm
/// hands templates, `v<major>.<minor>.<patch>[suffix]`.
///
/// # Errors
///
/// Anything else, with a message naming the flag and the accepted forms.
pub fn parse_kube_version(text: &str) -> Result<String, String> {
    let bad = || {
        format!(
            "{text:?} is not a Kubernetes version: expected 1.MINOR or 1.MINOR.PATCH, \
             optionally with a leading 'v' (e.g. v1.31.0 or 1.31), from 1.{OLDEST_MINOR} on"
        )
    };
    let body = text.strip_prefix('v').unwrap_or(text);
    let (core, suffix) = match body.find(['-', '+']) {
        Some(i) => body.split_at(i),
        None => (body, ""),
    };
    if suffix.len() == 1
        || !suffix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.'))
    {
        return Err(bad());
    }
    let parts: Vec<&str> = core.split('.').collect();
    let number = |s: &str| {
        (!s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    let (Some(major), Some(minor), patch) = (
        parts.first().and_then(|s| number(s)),
        parts.get(1).and_then(|s| number(s)),
        parts.get(2).map(|s| number(s)),
    ) else {
        return Err(bad());
    };
    let patch = match patch {
        None => 0,
        Some(Some(p)) => p,
        Some(None) => return Err(bad()),
    };
    if parts.len() > 3 || major != 1 {
        return Err(bad());
    }
    if minor < OLDEST_MINOR {
        return Err(format!(
            "Kubernetes 1.{minor} is older than the oldest version whose APIs wasmchart \
             knows (1.{OLDEST_MINOR}); render for 1.{OLDEST_MINOR} or later"
        ));
    }
    Ok(format!("v{major}.{minor}.{patch}{suffix}"))
}

/// Parses one `-a/--api-versions` value: `group/version` or `group/version/Kind`, or `v1` and
/// `v1/Kind` for the core group, as Helm's `.Capabilities.APIVersions.Has` takes them.
///
/// # Errors
///
/// Anything else, with a message naming the flag and the accepted forms.
pub fn parse_api_version(text: &str) -> Result<String, String> {
    let parts: Vec<&str> = text.split('/').collect();
    let ok = match parts.as_slice() {
        [version] => is_version(version),
        [first, second] if is_version(first) => is_kind(second),
        [group, version] => is_subdomain(group) && is_version(version),
        [group, version, kind] => is_subdomain(group) && is_version(version) && is_kind(kind),
        _ => false,
    };
    if ok {
        Ok(text.to_string())
    } else {
        Err(format!(
            "{text:?} is not an API version: expected group/version or \
             group/version/Kind (e.g. monitoring.coreos.com/v1 or \
             monitoring.coreos.com/v1/ServiceMonitor), or v1 and v1/Kind for the core group"
        ))
    }
}

/// `v1`, `v2beta2`, `v1alpha1`...
fn is_version(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('v') else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (major, tail) = rest.split_at(digits);
    if major.is_empty() || major.starts_with('0') {
        return false;
    }
    if tail.is_empty() {
        return true;
    }
    ["alpha", "beta"].iter().any(|stage| {
        tail.strip_prefix(stage).is_some_and(|n| {
            !n.is_empty() && !n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit())
        })
    })
}

/// A Kind: an upper-case letter, then letters and digits.
fn is_kind(s: &str) -> bool {
    s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_uppercase())
        && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The minor version of a version accepted by [`parse_kube_version`]; the newest known minor
/// for text it does not accept (only a library caller can pass such text).
fn minor_of(kube_version: &str) -> u32 {
    parse_kube_version(kube_version)
        .ok()
        .and_then(|v| v.split('.').nth(1).and_then(|m| m.parse().ok()))
        .unwrap_or(NEWEST_MINOR)
}

/// The group/versions Kubernetes `kube_version` serves by default, sorted. Minors newer than
/// [`NEWEST_MINOR`] get its list.
pub fn built_in_api_versions(kube_version: &str) -> Vec<String> {
    let minor = minor_of(kube_version).min(NEWEST_MINOR);
    let mut list: Vec<String> = SERVED
        .iter()
        .filter(|(_, first, last)| (*first..=*last).contains(&minor))
        .map(|(gv, _, _)| gv.to_string())
        .collect();
    list.sort();
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kube_versions_are_normalised_or_refused() {
        for (given, want) in [
            ("v1.31.0", "v1.31.0"),
            ("1.31", "v1.31.0"),
            ("v1.22", "v1.22.0"),
            ("1.30.4", "v1.30.4"),
            ("v1.30.4-gke.1", "v1.30.4-gke.1"),
            ("1.40", "v1.40.0"),
        ] {
            assert_eq!(parse_kube_version(given).as_deref(), Ok(want), "{given}");
        }
        for bad in [
            "banana", "", "v", "1", "1.", "2.1", "1.31.0.1", "1.x", "v1.31-", "1.31 ", "1..2",
        ] {
            let err = parse_kube_version(bad).unwrap_err();
            assert!(err.contains("is not a Kubernetes version"), "{bad}: {err}");
        }
        let err = parse_kube_version("1.16").unwrap_err();
        assert!(err.contains("older than") && err.contains("1.19"), "{err}");
    }

    #[test]
    fn api_versions_are_checked() {
        for good in [
            "v1",
            "v1/Pod",
            "apps/v1",
            "monitoring.coreos.com/v1",
            "monitoring.coreos.com/v1/ServiceMonitor",
            "autoscaling/v2beta2",
        ] {
            assert_eq!(parse_api_version(good).as_deref(), Ok(good));
        }
        for bad in [
            "not a version",
            "",
            "apps",
            "apps/",
            "Apps/v1",
            "apps/v1/",
            "apps/v1/pod",
            "apps/1",
            "a/b/c/d",
            "apps/v1beta",
        ] {
            let err = parse_api_version(bad).unwrap_err();
            assert!(err.contains("is not an API version"), "{bad}: {err}");
        }
    }

    #[test]
    fn built_in_list_follows_the_minor_version() {
        let v131 = built_in_api_versions("v1.31.0");
        assert!(v131.contains(&"autoscaling/v2".into()));
        assert!(!v131.contains(&"autoscaling/v2beta2".into()));
        assert_eq!(v131.len(), 21, "{v131:?}");
        let v122 = built_in_api_versions("v1.22.0");
        assert!(v122.contains(&"autoscaling/v2beta2".into()));
        assert!(!v122.contains(&"autoscaling/v2".into()));
        assert!(!v122.contains(&"networking.k8s.io/v1beta1".into()));
        let v125 = built_in_api_versions("1.25");
        assert!(
            v125.contains(&"autoscaling/v2".into()) && v125.contains(&"autoscaling/v2beta2".into())
        );
        assert!(!v125.contains(&"policy/v1beta1".into()));
        assert_eq!(
            built_in_api_versions("v1.40.0"),
            built_in_api_versions("v1.33.0")
        );
    }
}
