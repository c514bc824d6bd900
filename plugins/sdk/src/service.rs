//! The `service.*` keys a chart's Service is configured with.
//!
//! Every component that renders a Service accepts the same `service.type`
//! values and node port range, so the checks and their messages live here.

use crate::{RenderError, Values, invalid};

/// The Service types a chart accepts (`ExternalName` has no pods behind it).
const SERVICE_TYPES: [&str; 3] = ["ClusterIP", "NodePort", "LoadBalancer"];

/// `service.type`, `ClusterIP` when absent.
///
/// # Errors
///
/// `invalid-values` when it is not a string or not one of `ClusterIP`,
/// `NodePort`, `LoadBalancer`.
///
/// # Examples
///
/// ```
/// use wasmchart_sdk::{Values, serde_json::json, service};
///
/// assert_eq!(service::service_type(&Values::from_value(json!({})))?, "ClusterIP");
/// let typo = Values::from_value(json!({"service": {"type": "Nodeport"}}));
/// assert!(service::service_type(&typo).is_err());
/// # Ok::<(), wasmchart_sdk::RenderError>(())
/// ```
pub fn service_type(values: &Values) -> Result<String, RenderError> {
    let kind = values.str_or("service.type", "ClusterIP")?;
    if SERVICE_TYPES.contains(&kind.as_str()) {
        Ok(kind)
    } else {
        Err(invalid(
            "service.type",
            format!("\"{kind}\" is not one of ClusterIP, NodePort, LoadBalancer"),
        ))
    }
}

/// `service.nodePort`, when set; Kubernetes' default node port range
/// (30000..=32767) is checked here so a typo fails at render time rather
/// than at apply time.
///
/// # Errors
///
/// `invalid-values` when it is not an integer or outside the range.
///
/// # Examples
///
/// ```
/// use wasmchart_sdk::{Values, serde_json::json, service};
///
/// let values = Values::from_value(json!({"service": {"nodePort": 80}}));
/// assert!(service::node_port(&values).is_err(), "outside 30000..=32767");
/// # Ok::<(), wasmchart_sdk::RenderError>(())
/// ```
pub fn node_port(values: &Values) -> Result<Option<i64>, RenderError> {
    match values.opt_i64("service.nodePort")? {
        Some(port) if !(30000..=32767).contains(&port) => Err(invalid(
            "service.nodePort",
            format!("{port} is outside the node port range 30000..=32767"),
        )),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::message;
    use serde_json::json;

    fn values(v: serde_json::Value) -> Values {
        Values::from_value(v)
    }

    #[test]
    fn service_type_defaults_and_refuses_others() {
        assert_eq!(service_type(&values(json!({}))).unwrap(), "ClusterIP");
        let v = values(json!({"service": {"type": "NodePort"}}));
        assert_eq!(service_type(&v).unwrap(), "NodePort");
        let v = values(json!({"service": {"type": "ExternalName"}}));
        assert_eq!(
            message(service_type(&v).unwrap_err()),
            "key 'service.type': \"ExternalName\" is not one of ClusterIP, NodePort, LoadBalancer"
        );
    }

    #[test]
    fn node_port_is_range_checked() {
        assert_eq!(node_port(&values(json!({}))).unwrap(), None);
        let v = values(json!({"service": {"nodePort": 30080}}));
        assert_eq!(node_port(&v).unwrap(), Some(30080));
        let v = values(json!({"service": {"nodePort": 80}}));
        assert_eq!(
            message(node_port(&v).unwrap_err()),
            "key 'service.nodePort': 80 is outside the node port range 30000..=32767"
        );
    }
}
