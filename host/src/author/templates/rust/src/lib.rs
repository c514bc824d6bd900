//! The {{name}} subchart as a wasmchart component.
//!
//! `render` is a pure function of its input: values in, Kubernetes objects
//! out. Build with `wasmchart build` (the command is in ../Chart.yaml), test
//! with `cargo test` (on your machine's own target: the logic needs no host).

use wasmchart_sdk::serde_json::json;
use wasmchart_sdk::{
    Guest, RenderError, RenderInput, RenderOutput, Values, labels, manifest, object_meta,
};

struct Component;

impl Guest for Component {
    fn render(input: RenderInput) -> Result<RenderOutput, RenderError> {
        render(&input)
    }
}

wasmchart_sdk::export!(Component);

/// Renders one ConfigMap named like Helm's `fullname`, holding `message`.
fn render(input: &RenderInput) -> Result<RenderOutput, RenderError> {
    let values = Values::parse(&input.values_json)?;
    let message = values.str_or("message", "Hello from {{name}}")?;
    let name = labels::fullname(input, &values)?;
    let labels = labels::standard(input, &values)?;
    let config_map = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": object_meta(&name, &labels, &Default::default()),
        "data": { "message": message },
    });
    Ok(RenderOutput {
        manifests: vec![manifest("templates/configmap.yaml", &config_map)?],
        notes: Some(format!("ConfigMap {name} holds the message.\n")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmchart_sdk::testing;

    #[test]
    fn renders_the_message_into_a_config_map() {
        let mut input = testing::input("{{name}}", json!({"message": "hi"}));
        // Helm's fullname is `<release>-<chart>`, or the release name alone
        // when it already contains the chart name; a name of digits never does.
        input.release.name = "1".into();
        let objects = testing::objects(&render(&input).unwrap());
        assert_eq!(objects.len(), 1);
        assert_eq!(objects[0]["kind"], "ConfigMap");
        assert_eq!(objects[0]["metadata"]["name"], "1-{{name}}");
        assert_eq!(objects[0]["data"]["message"], "hi");
    }

    #[test]
    fn a_message_of_the_wrong_type_names_the_key() {
        let input = testing::input("{{name}}", json!({"message": 3}));
        match render(&input) {
            Err(RenderError::InvalidValues(why)) => assert!(why.contains("'message'"), "{why}"),
            other => panic!("expected invalid-values, got {other:?}"),
        }
    }
}
