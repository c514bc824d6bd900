//! Strict parsing of a policy file: every key is known, every value has the
//! right type, and errors name the file and the key path. A typo in a
//! policy must never silently weaken it.

use super::limits::LimitMap;
use super::{KindPattern, Policy};
use crate::sandbox::LIMITS;
use crate::text::escape;
use anyhow::{Result, anyhow, bail};
use serde_json::{Map, Value};
use wasmchart_values::yaml::kind_name;

/// Parses policy text (one YAML document, a map; empty means all defaults).
pub(super) fn parse(text: &str, origin: &str) -> Result<Policy> {
    let mut docs = wasmchart_values::yaml::parse_documents(text, origin)
        .map_err(|e| anyhow!("the policy file '{origin}' is not valid YAML: {e}"))?;
    let mut policy = Policy {
        origin: origin.to_string(),
        ..Policy::default()
    };
    let root = match docs.len() {
        0 => return Ok(policy),
        1 => docs.remove(0),
        n => bail!("the policy file '{origin}' holds {n} YAML documents; write one"),
    };
    let p = Parser { origin };
    let root = p.map(&root, "")?;
    p.known(
        root,
        "",
        &[
            "limits",
            "kinds",
            "rbac",
            "namespaces",
            "clusterScoped",
            "hostSecrets",
            "requireLock",
            "secretEnv",
        ],
    )?;
    if let Some(limits) = root.get("limits") {
        let limits = p.map(limits, "limits")?;
        p.known(limits, "limits", &["max", "default"])?;
        if let Some(max) = limits.get("max") {
            policy.max = p.limits(max, "limits.max")?;
        }
        if let Some(defaults) = limits.get("default") {
            policy.defaults = p.limits(defaults, "limits.default")?;
        }
        p.defaults_within_max(&policy.defaults, &policy.max)?;
    }
    if let Some(kinds) = root.get("kinds") {
        let kinds = p.map(kinds, "kinds")?;
        p.known(kinds, "kinds", &["allow", "deny"])?;
        policy.allow_kinds = p.kinds(kinds.get("allow"), "kinds.allow")?;
        policy.deny_kinds = p.kinds(kinds.get("deny"), "kinds.deny")?;
        p.disjoint(&policy.allow_kinds, &policy.deny_kinds)?;
    }
    policy.allow_cluster_admin = p.flag_in(root, "rbac", "allowClusterAdmin", false)?;
    policy.deny_other_namespaces = !p.flag_in(root, "namespaces", "allowOther", true)?;
    policy.allow_host_secret_shadow = p.flag_in(root, "hostSecrets", "allowShadow", false)?;
    policy.require_lock = match root.get("requireLock") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => bail!(
            "the policy file '{origin}': requireLock must be true or false, not {}",
            show(other)
        ),
    };
    if let Some(env) = root.get("secretEnv") {
        policy.secret_env = Some(p.secret_env(env)?);
    }
    policy.deny_cluster_scoped = match root.get("clusterScoped") {
        None => false,
        Some(Value::String(s)) if s == "allow" => false,
        Some(Value::String(s)) if s == "deny" => true,
        Some(other) => bail!(
            "the policy file '{origin}': clusterScoped must be allow or deny, not {}",
            show(other)
        ),
    };
    Ok(policy)
}

struct Parser<'a> {
    origin: &'a str,
}

impl Parser<'_> {
    fn err(&self, path: &str, what: impl std::fmt::Display) -> anyhow::Error {
        let path = if path.is_empty() {
            "the top level"
        } else {
            path
        };
        anyhow!("the policy file '{}': {path}: {what}", self.origin)
    }

    fn map<'v>(&self, v: &'v Value, path: &str) -> Result<&'v Map<String, Value>> {
        v.as_object()
            .ok_or_else(|| self.err(path, format!("must be a map, not {}", kind_name(v))))
    }

    fn known(&self, m: &Map<String, Value>, path: &str, keys: &[&str]) -> Result<()> {
        match m.keys().find(|k| !keys.contains(&k.as_str())) {
            Some(k) => {
                let at = if path.is_empty() {
                    escape(k).into_owned()
                } else {
                    format!("{path}.{}", escape(k))
                };
                Err(anyhow!(
                    "the policy file '{}': unknown key '{at}' (known here: {})",
                    self.origin,
                    keys.join(", ")
                ))
            }
            None => Ok(()),
        }
    }

    /// `secretEnv.allow`: variable names, or prefixes ending in `*`.
    fn secret_env(&self, v: &Value) -> Result<Vec<String>> {
        let m = self.map(v, "secretEnv")?;
        self.known(m, "secretEnv", &["allow"])?;
        let Some(list) = m.get("allow") else {
            return Ok(Vec::new());
        };
        let items = list.as_array().ok_or_else(|| {
            self.err(
                "secretEnv.allow",
                format!("must be a list, not {}", kind_name(list)),
            )
        })?;
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let at = format!("secretEnv.allow[{i}]");
                let text = item.as_str().ok_or_else(|| {
                    self.err(
                        &at,
                        format!("must be a variable name, not {}", kind_name(item)),
                    )
                })?;
                let name = text.strip_suffix('*').unwrap_or(text);
                let plain = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                    && (text.ends_with('*') || !name.is_empty());
                if !plain {
                    return Err(self.err(
                        &at,
                        format!(
                            "'{}' is not a variable name or a prefix ending in '*'",
                            escape(text)
                        ),
                    ));
                }
                Ok(text.to_string())
            })
            .collect()
    }

    fn limits(&self, v: &Value, path: &str) -> Result<LimitMap> {
        let m = self.map(v, path)?;
        let known: Vec<&str> = LIMITS.iter().map(|f| f.key).collect();
        self.known(m, path, &known)?;
        let mut out = LimitMap::new();
        for f in LIMITS {
            let Some(value) = m.get(f.key) else {
                continue;
            };
            let at = format!("{path}.{}", f.key);
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => {
                    return Err(self.err(
                        &at,
                        format!(
                            "must be a size, duration or number, not {}",
                            kind_name(other)
                        ),
                    ));
                }
            };
            out.insert(f.key, f.parse(&text).map_err(|e| self.err(&at, e))?);
        }
        Ok(out)
    }

    fn defaults_within_max(&self, defaults: &LimitMap, max: &LimitMap) -> Result<()> {
        for f in LIMITS {
            if let (Some(&d), Some(&m)) = (defaults.get(f.key), max.get(f.key))
                && d > m
            {
                return Err(self.err(
                    &format!("limits.default.{}", f.key),
                    format!(
                        "{} is above limits.max.{} ({})",
                        f.show(d),
                        f.key,
                        f.show(m)
                    ),
                ));
            }
        }
        Ok(())
    }

    fn kinds(&self, v: Option<&Value>, path: &str) -> Result<Vec<KindPattern>> {
        let Some(v) = v else {
            return Ok(Vec::new());
        };
        let list = v
            .as_array()
            .ok_or_else(|| self.err(path, format!("must be a list, not {}", kind_name(v))))?;
        list.iter()
            .enumerate()
            .map(|(i, item)| {
                let at = format!("{path}[{i}]");
                let text = item.as_str().ok_or_else(|| {
                    self.err(&at, format!("must be a string, not {}", kind_name(item)))
                })?;
                KindPattern::parse(text).map_err(|e| self.err(&at, e))
            })
            .collect()
    }

    fn disjoint(&self, allow: &[KindPattern], deny: &[KindPattern]) -> Result<()> {
        match allow.iter().find(|a| deny.contains(a)) {
            Some(both) => Err(self.err(
                "kinds",
                format!("'{both}' is both in allow and in deny; keep one"),
            )),
            None => Ok(()),
        }
    }

    /// `section.key`, a boolean, `default` when absent; `section` must be a
    /// map holding only `key`.
    fn flag_in(
        &self,
        root: &Map<String, Value>,
        section: &str,
        key: &str,
        default: bool,
    ) -> Result<bool> {
        let Some(v) = root.get(section) else {
            return Ok(default);
        };
        let m = self.map(v, section)?;
        self.known(m, section, &[key])?;
        match m.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(self.err(
                &format!("{section}.{key}"),
                format!("must be true or false, not {}", show(other)),
            )),
        }
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{}'", escape(s)),
        other => kind_name(other).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(text, "p.yaml").unwrap_err().to_string()
    }

    #[test]
    fn full_policy_parses() {
        let p = parse(
            "limits:\n  max: {memory: 256Mi, timeout: 10s}\n  default: {timeout: 2s}\nkinds:\n  allow: [cert-manager.io/Certificate]\n  deny: [PodSecurityPolicy]\nrbac: {allowClusterAdmin: false}\nnamespaces: {allowOther: false}\nclusterScoped: deny\nhostSecrets: {allowShadow: false}\n",
            "p.yaml",
        )
        .unwrap();
        assert_eq!(p.max["memory"], 256 << 20);
        assert_eq!(p.defaults["timeout"], 2_000_000_000);
        assert_eq!(p.allow_kinds[0].to_string(), "cert-manager.io/Certificate");
        assert!(p.deny_cluster_scoped && p.deny_other_namespaces);
    }

    #[test]
    fn empty_policy_is_permissive() {
        let p = parse("", "p.yaml").unwrap();
        assert!(!p.deny_cluster_scoped && !p.deny_other_namespaces && !p.allow_cluster_admin);
    }

    #[test]
    fn strict_errors_name_the_key_path() {
        assert_eq!(
            err("kinds: {alow: [X]}\n"),
            "the policy file 'p.yaml': unknown key 'kinds.alow' (known here: allow, deny)"
        );
        assert!(err("limit: {}\n").contains("unknown key 'limit'"));
        assert!(err("limits: {max: {memroy: 1Gi}}\n").contains("unknown key 'limits.max.memroy'"));
        assert!(
            err("limits: {max: {memory: lots}}\n")
                .contains("limits.max.memory: limit 'memory': 'lots' is not a size")
        );
        assert!(err("clusterScoped: no\n").contains("clusterScoped must be allow or deny"));
        assert!(
            err("namespaces: {allowOther: 'yes'}\n")
                .contains("namespaces.allowOther: must be true or false, not 'yes'")
        );
        assert!(
            err("kinds: {deny: [secret]}\n")
                .contains("kinds.deny[0]: 'secret' is not a kind pattern")
        );
        assert!(
            err("kinds: {deny: [Secret], allow: [Secret]}\n")
                .contains("'Secret' is both in allow and in deny")
        );
        assert!(
            err("limits: {max: {timeout: 1s}, default: {timeout: 2s}}\n")
                .contains("limits.default.timeout: 2s is above limits.max.timeout (1s)")
        );
        assert!(err("- a\n").contains("the top level: must be a map, not a list"));
        assert!(err("a: [\n").contains("not valid YAML"));
        assert!(err("\"a\\e\": 1\n").contains("unknown key 'a\\x1b'"));
    }
}
