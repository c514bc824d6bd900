//! Kubernetes object name rules (apimachinery's `validation` package).

/// Which naming rule a kind's `metadata.name` follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// RFC 1123 subdomain: lower-case alphanumerics, '-' and '.', at most
    /// 253 characters, starting and ending alphanumeric. Most kinds.
    Subdomain,
    /// RFC 1035 label: at most 63, lower-case alphanumerics and '-',
    /// starting with a letter. Services (their name becomes a DNS label).
    Dns1035Label,
    /// RFC 1123 label: like a subdomain without dots, at most 63.
    /// Namespaces.
    Dns1123Label,
    /// Path segment: anything but '/', '%', "." and "..". RBAC kinds,
    /// whose names are often like "system:aggregate-to-view".
    PathSegment,
}

fn rule_for(kind: &str) -> Rule {
    match kind {
        "Service" => Rule::Dns1035Label,
        "Namespace" => Rule::Dns1123Label,
        "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding" => Rule::PathSegment,
        _ => Rule::Subdomain,
    }
}

/// Checks `name` against the rule for `kind`; the error says which rule.
pub fn check_name(kind: &str, name: &str) -> Result<(), String> {
    let ok = match rule_for(kind) {
        Rule::Subdomain => is_subdomain(name),
        Rule::Dns1035Label => is_label(name, true),
        Rule::Dns1123Label => is_label(name, false),
        Rule::PathSegment => {
            !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '%'])
        }
    };
    if ok {
        return Ok(());
    }
    let rule = match rule_for(kind) {
        Rule::Subdomain => {
            "a lower-case RFC 1123 subdomain (a-z, 0-9, '-' and '.', at most 253 characters, starting and ending with a letter or digit)"
        }
        Rule::Dns1035Label => {
            "a lower-case RFC 1035 label (a-z, 0-9 and '-', at most 63 characters, starting with a letter and ending with a letter or digit)"
        }
        Rule::Dns1123Label => {
            "a lower-case RFC 1123 label (a-z, 0-9 and '-', at most 63 characters, starting and ending with a letter or digit)"
        }
        Rule::PathSegment => "a path segment (not empty, '.' or '..', without '/' or '%')",
    };
    Err(format!(
        "metadata.name '{}' of {kind} must be {rule}",
        crate::text::escape_short(name, 300)
    ))
}

fn is_label(s: &str, must_start_with_letter: bool) -> bool {
    let bytes = s.as_bytes();
    let Some((&first, &last)) = bytes.first().zip(bytes.last()) else {
        return false;
    };
    let first_ok = if must_start_with_letter {
        first.is_ascii_lowercase()
    } else {
        is_alnum(first)
    };
    s.len() <= 63 && first_ok && is_alnum(last) && bytes.iter().all(|&b| is_alnum(b) || b == b'-')
}

/// A DNS-1123 subdomain: lower-case labels of letters, digits and '-',
/// separated by dots, at most 253 characters (object names, API groups).
pub(crate) fn is_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(|part| is_label(part, false))
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomains() {
        assert!(check_name("ConfigMap", "a.b-c.9").is_ok());
        for bad in ["", "A", "-a", "a-", "a..b", "a_b", &"a".repeat(254)] {
            assert!(check_name("ConfigMap", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn services_are_dns1035_labels() {
        assert!(check_name("Service", "redis-master").is_ok());
        assert!(check_name("Service", "9redis").is_err());
        assert!(check_name("Service", "a.b").is_err());
        assert!(check_name("Service", &"a".repeat(64)).is_err());
    }

    #[test]
    fn rbac_names_are_path_segments() {
        assert!(check_name("ClusterRole", "system:aggregate-to-view").is_ok());
        assert!(check_name("Role", "a/b").is_err());
        assert!(check_name("Role", "..").is_err());
    }
}
