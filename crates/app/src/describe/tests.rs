use super::*;
use serde_json::json;

#[test]
fn env_values_and_secrets_are_redacted_everywhere() {
    let v = json!({
        "Spec": {"TaskTemplate": {"ContainerSpec": {
            "Image": "app:1",
            "Env": ["MODE=prod", "DB_PASSWORD=hunter2"],
        }}, "Labels": {"api_token": "abc"}},
        "containers": [{"env": [{"name": "X", "value": "y"}, {"name": "Z", "valueFrom": {}}]}],
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration":
            "{\"spec\":{\"containers\":[{\"env\":[{\"name\":\"P\",\"value\":\"s3cret\"}]}]}}"}}
    });
    let r = redact(&v);
    let text = r.to_string();
    assert!(
        !text.contains("hunter2")
            && !text.contains("\"y\"")
            && !text.contains("abc")
            && !text.contains("s3cret"),
        "{text}"
    );
    assert_eq!(
        r["Spec"]["TaskTemplate"]["ContainerSpec"]["Env"][0],
        "MODE=[redacted]"
    );
    assert_eq!(r["containers"][0]["env"][1]["name"], "Z");
}

#[test]
fn yaml_by_default_json_on_toggle_and_search_with_line_numbers() {
    let mut d = DescribeView {
        json: Some(
            json!({"ID": "s1", "Spec": {"Name": "web", "TaskTemplate": {"ContainerSpec": {"Image": "app:1"}},
            "Mode": {"Replicated": {"Replicas": 3}}}}),
        ),
        ..DescribeView::default()
    };
    let lines = d.lines();
    assert!(
        lines[0].starts_with("mode") && lines[0].contains("replicated, 3 replicas"),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.trim() == "Image: app:1"),
        "{lines:?}"
    );
    d.key(Action::ToggleFormat);
    assert!(d.lines().iter().any(|l| l.contains("\"Image\": \"app:1\"")));
    d.search = "image".into();
    let found = d.lines();
    assert!(
        found
            .iter()
            .all(|l| l.to_ascii_lowercase().contains("image")),
        "{found:?}"
    );
    assert!(
        found[0].trim_start().starts_with(char::is_numeric),
        "{found:?}"
    );
}
