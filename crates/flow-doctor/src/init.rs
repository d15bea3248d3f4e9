//! Building a [`FlowDoctor`] from a [`Config`]: the store, the notifiers
//! of `notify:` (console when empty), the diagnoser and the remediator,
//! each from the stage crate its cargo feature enables.

use std::sync::Arc;

use flow_doctor_core::config::{ChannelConfig, Config, ConsoleConfig, StoreKind};
use flow_doctor_core::{Error, FlowDoctor, MemoryStore, Notifier, Result, Route, Store};

/// Opens the store `config.store` names.
///
/// `type: sqlite` needs the `sqlite` feature; `type: memory` always works.
pub fn open_store(config: &Config) -> Result<Arc<dyn Store>> {
    match config.store.kind {
        StoreKind::Memory => Ok(Arc::new(MemoryStore::new())),
        StoreKind::Sqlite => {
            #[cfg(feature = "sqlite")]
            {
                Ok(Arc::new(flow_doctor_storage::SqliteStore::from_config(
                    &config.store,
                )?))
            }
            #[cfg(not(feature = "sqlite"))]
            {
                Err(Error::config(
                    "store",
                    "`store.type: sqlite` needs the `sqlite` cargo feature of flow-doctor; enable it or use `type: memory`",
                ))
            }
        }
    }
}

/// The notifiers of `config.notify` with their routes, in order. An empty
/// `notify:` means the console.
pub fn notifiers(config: &Config) -> Result<Vec<(Arc<dyn Notifier>, Route)>> {
    let default_console = [ChannelConfig::Console(ConsoleConfig::default())];
    let channels: &[ChannelConfig] = if config.notify.is_empty() {
        &default_console
    } else {
        &config.notify
    };
    let mut out = Vec::with_capacity(channels.len());
    for (i, channel) in channels.iter().enumerate() {
        let route = channel
            .route()
            .to_route(channel.kind(), &config.rate_limits);
        let notifier = match flow_doctor_core::notifiers::local_notifier(channel) {
            Some(n) => n,
            // Which entry of `notify:` is wrong, as the config check says.
            None => network_notifier(channel, config).map_err(|e| match e {
                Error::Config { component, message } => Error::Config {
                    component,
                    message: format!("`notify[{i}]`: {message}"),
                },
                other => other,
            })?,
        };
        out.push((notifier, route));
    }
    Ok(out)
}

#[cfg(any(
    feature = "github",
    feature = "slack",
    feature = "email",
    feature = "telegram",
    feature = "webhook"
))]
fn network_notifier(channel: &ChannelConfig, config: &Config) -> Result<Arc<dyn Notifier>> {
    flow_doctor_notify::build(channel, config)?.ok_or_else(|| missing_feature(channel))
}

#[cfg(not(any(
    feature = "github",
    feature = "slack",
    feature = "email",
    feature = "telegram",
    feature = "webhook"
)))]
fn network_notifier(channel: &ChannelConfig, _config: &Config) -> Result<Arc<dyn Notifier>> {
    Err(missing_feature(channel))
}

/// The channels this build can deliver to, by cargo feature.
const BUILT_CHANNELS: &[(&str, bool)] = &[
    ("github", cfg!(feature = "github")),
    ("slack", cfg!(feature = "slack")),
    ("email", cfg!(feature = "email")),
    ("telegram", cfg!(feature = "telegram")),
    ("webhook", cfg!(feature = "webhook")),
];

/// The error for a configured channel this build has no notifier for:
/// names the cargo feature to enable and what the build does have.
fn missing_feature(channel: &ChannelConfig) -> Error {
    let built: Vec<&str> = BUILT_CHANNELS
        .iter()
        .filter(|(_, on)| *on)
        .map(|(name, _)| *name)
        .collect();
    let have = if built.is_empty() {
        "no network channel".to_owned()
    } else {
        built.join(", ")
    };
    Error::config(
        "notify",
        format!(
            "channel type `{kind}` needs the `{kind}` cargo feature of flow-doctor \
             (this build has: console, jsonl, {have}); enable it (or `notify`/`full`) \
             or remove the channel",
            kind = channel.kind()
        ),
    )
}

/// Builds and starts the engine from configuration, after checking every
/// notifier's credentials (a rejected token fails here; an unreachable
/// network does not).
pub fn init(config: &Config) -> Result<FlowDoctor> {
    let store = open_store(config)?;
    let stages = stages(config)?;
    check_notifiers(&stages.channels)?;
    let mut builder = FlowDoctor::builder(config.flow_name.clone())
        .config(config)
        .store(store);
    for (notifier, route) in stages.channels {
        builder = builder.notifier_with_route(notifier, route);
    }
    #[cfg(feature = "diagnosis")]
    if let Some(d) = stages.diagnoser {
        builder = builder.diagnoser(d);
    }
    #[cfg(feature = "remediation")]
    if let Some(r) = stages.remediator {
        builder = builder.remediator(r);
    }
    builder.build()
}

/// Builds every stage `config` describes, as [`init`] does, without
/// opening the store, starting the engine or contacting any service. The
/// configuration problems only a stage finds fail here: a playbook's or
/// pattern file's regex, a missing playbook or pattern file, a lockout's
/// time zone, a webhook header, an LLM key, and (feature `fix`) an
/// `auto_fix.scope` glob. `flow-doctor config check` runs it.
pub fn check(config: &Config) -> Result<()> {
    stages(config)?;
    // The fix pipeline is not an engine stage, but its scope globs are
    // configuration too: a bad one would only show at `generate-fix`.
    #[cfg(feature = "fix")]
    flow_doctor_fix::ScopeGuard::from_config(&config.auto_fix)?;
    Ok(())
}

/// The stages of a configuration, built.
struct Stages {
    channels: Vec<(Arc<dyn Notifier>, Route)>,
    #[cfg(feature = "diagnosis")]
    diagnoser: Option<Arc<dyn flow_doctor_core::Diagnoser>>,
    #[cfg(feature = "remediation")]
    remediator: Option<Arc<dyn flow_doctor_core::Remediator>>,
}

fn stages(config: &Config) -> Result<Stages> {
    let channels = notifiers(config)?;
    #[cfg(not(feature = "diagnosis"))]
    if config.diagnosis.provider != flow_doctor_core::config::LlmProvider::None {
        return Err(Error::config(
            "diagnosis",
            "`diagnosis.provider` needs the `diagnosis` cargo feature of flow-doctor",
        ));
    }
    #[cfg(not(feature = "remediation"))]
    if config.remediation.enabled {
        return Err(Error::config(
            "remediation",
            "`remediation.enabled` needs the `remediation` cargo feature of flow-doctor",
        ));
    }
    Ok(Stages {
        channels,
        #[cfg(feature = "diagnosis")]
        diagnoser: flow_doctor_diagnosis::from_config(config)?,
        #[cfg(feature = "remediation")]
        remediator: flow_doctor_remediation::from_config(config)?,
    })
}

/// Runs every notifier's start-up check on a private runtime (so `init`
/// works inside and outside an async runtime).
fn check_notifiers(channels: &[(Arc<dyn Notifier>, Route)]) -> Result<()> {
    let notifiers: Vec<Arc<dyn Notifier>> = channels.iter().map(|(n, _)| n.clone()).collect();
    let checked = std::thread::spawn(move || -> Result<()> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::permanent("init", e))?;
        rt.block_on(async {
            for n in &notifiers {
                n.check().await?;
            }
            Ok(())
        })
    })
    .join();
    match checked {
        Ok(result) => result,
        Err(_) => Err(Error::permanent(
            "init",
            "a notifier's start-up check panicked",
        )),
    }
}

#[cfg(test)]
mod tests {
    use flow_doctor_core::config::TelegramConfig;

    use super::*;

    #[test]
    fn an_empty_notify_list_means_the_console_and_a_listed_one_is_kept_in_order() {
        let names = |yaml: &str| -> Vec<String> {
            let config = Config::from_str_as(yaml, flow_doctor_core::config::Format::Yaml).unwrap();
            let built = notifiers(&config).unwrap();
            built.iter().map(|(n, _)| n.name().to_owned()).collect()
        };
        assert_eq!(names("flow_name: etl\n"), ["console"]);
        assert_eq!(
            names(
                "flow_name: etl\nnotify:\n  - type: jsonl\n    path: out.jsonl\n  - type: console\n"
            ),
            ["jsonl", "console"]
        );
    }

    #[test]
    fn a_channel_without_its_feature_names_the_feature_and_what_the_build_has() {
        let channel = ChannelConfig::Telegram(TelegramConfig::default());
        let message = missing_feature(&channel).to_string();
        assert!(
            message.contains("channel type `telegram` needs the `telegram` cargo feature"),
            "{message}"
        );
        let built: Vec<&str> = BUILT_CHANNELS
            .iter()
            .filter(|(_, on)| *on)
            .map(|(name, _)| *name)
            .collect();
        for name in &built {
            assert!(message.contains(name), "{message} lists {name}");
        }
        assert!(message.contains("console, jsonl"), "{message}");
        assert!(message.contains("`notify`/`full`"), "{message}");
    }
}
