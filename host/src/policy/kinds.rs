//! Kind patterns of `kinds.allow` and `kinds.deny`: `Kind` matches that
//! kind in any API group, `group/Kind` only in that group (`core/Kind` for
//! the core group), so an operator can deny `ClusterRoleBinding` outright
//! or only `rbac.authorization.k8s.io/ClusterRoleBinding`.

/// One `kinds.allow` or `kinds.deny` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindPattern {
    /// API group; `None` matches every group, `Some("")` the core group.
    pub group: Option<String>,
    /// Kind, e.g. `ClusterRoleBinding`.
    pub kind: String,
}

impl KindPattern {
    /// Parses `Kind`, `group/Kind` or `core/Kind`.
    ///
    /// # Errors
    ///
    /// A reason fit to follow the entry's key path.
    pub fn parse(text: &str) -> Result<KindPattern, String> {
        let (group, kind) = match text.rsplit_once('/') {
            Some(("core", kind)) => (Some(String::new()), kind),
            Some((group, kind)) => (Some(group.to_string()), kind),
            None => (None, text),
        };
        let kind_ok = kind.starts_with(|c: char| c.is_ascii_uppercase())
            && kind.chars().all(|c| c.is_ascii_alphanumeric());
        let group_ok = group.as_deref().is_none_or(|g| {
            g.is_empty()
                || g.split('.').all(|label| {
                    !label.is_empty()
                        && label
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                })
        });
        if !kind_ok || !group_ok {
            return Err(format!(
                "'{}' is not a kind pattern: write Kind, group/Kind or core/Kind, e.g. rbac.authorization.k8s.io/ClusterRoleBinding",
                crate::text::escape(text)
            ));
        }
        Ok(KindPattern {
            group,
            kind: kind.to_string(),
        })
    }

    /// Whether an object of `api_version` and `kind` matches.
    pub fn matches(&self, api_version: &str, kind: &str) -> bool {
        kind == self.kind
            && self
                .group
                .as_deref()
                .is_none_or(|g| g == group_of(api_version))
    }
}

impl std::fmt::Display for KindPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.group.as_deref() {
            None => f.write_str(&self.kind),
            Some("") => write!(f, "core/{}", self.kind),
            Some(g) => write!(f, "{g}/{}", self.kind),
        }
    }
}

/// The API group of an `apiVersion`: empty for the core group (`v1`).
pub fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_by_group() {
        let any = KindPattern::parse("ClusterRoleBinding").unwrap();
        let rbac = KindPattern::parse("rbac.authorization.k8s.io/ClusterRoleBinding").unwrap();
        let core = KindPattern::parse("core/Secret").unwrap();
        assert!(any.matches("example.com/v1", "ClusterRoleBinding"));
        assert!(rbac.matches("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"));
        assert!(!rbac.matches("example.com/v1", "ClusterRoleBinding"));
        assert!(core.matches("v1", "Secret"));
        assert!(!core.matches("bitnami.com/v1alpha1", "Secret"));
        assert_eq!(
            rbac.to_string(),
            "rbac.authorization.k8s.io/ClusterRoleBinding"
        );
        for bad in ["", "secret", "a//B", "Bad/Kind", "x/", "Cluster Role"] {
            assert!(KindPattern::parse(bad).is_err(), "{bad}");
        }
    }
}
