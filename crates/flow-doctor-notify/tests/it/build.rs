//! `flow_doctor_notify::build` from configuration.

use flow_doctor_core::config::{ChannelConfig, Format};
use flow_doctor_core::{Config, Error};

use crate::support::class;

#[test]
fn builds_every_network_channel_from_a_configuration_file() {
    let yaml = r#"
flow_name: etl
repo: acme/etl
github:
  token: ghp_fromtoplevel
notify:
  - type: console
  - type: github
    labels: [flow-doctor, etl]
  - type: slack
    webhook_url: https://hooks.slack.com/services/T/B/X
  - type: email
    smtp_host: localhost
    security: none
    from: fd@example.com
    to: [oncall@example.com]
  - type: telegram
    bot_token: "123:abc"
    chat_id: "42"
  - type: webhook
    url: https://example.com/hook
"#;
    let cfg = Config::from_str_as(yaml, Format::Yaml).unwrap();
    let names: Vec<Option<String>> = cfg
        .notify
        .iter()
        .map(|c| {
            flow_doctor_notify::build(c, &cfg)
                .unwrap()
                .map(|n| n.name().to_string())
        })
        .collect();
    assert_eq!(
        names,
        [
            None,
            Some("github".into()),
            Some("slack".into()),
            Some("email".into()),
            Some("telegram".into()),
            Some("webhook".into())
        ]
    );
}

#[test]
fn a_channel_without_credentials_is_a_config_error() {
    let cfg = Config::new("etl");
    let github = ChannelConfig::Github(Default::default());
    let err = flow_doctor_notify::build(&github, &cfg).err().unwrap();
    assert_eq!(class(&err), ("config", "github"), "{err:?}");
    let slack = ChannelConfig::Slack(Default::default());
    assert!(matches!(
        flow_doctor_notify::build(&slack, &cfg),
        Err(Error::Config {
            component: "slack",
            ..
        })
    ));
}
