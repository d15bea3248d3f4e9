//! From a channel's routing keys to the engine's [`Route`].

use std::collections::BTreeSet;

use super::schema::{ChannelConfig, RateLimitsConfig, RouteConfig};
use crate::model::Severity;
use crate::notify::Route;

impl RouteConfig {
    /// The engine's route for a channel of `channel_kind` (`"slack"`):
    /// `notify_on` defaults to critical and error, every category, digests
    /// on; the daily limit is `max_issues_per_day` for `github`, none for
    /// `console` and `jsonl`, `max_alerts_per_day` for every other channel;
    /// `exempt` comes from `rate_limits`.
    pub fn to_route(&self, channel_kind: &str, limits: &RateLimitsConfig) -> Route {
        let notify_on: BTreeSet<Severity> = match &self.notify_on {
            Some(list) => list.iter().copied().collect(),
            None => [Severity::Critical, Severity::Error].into_iter().collect(),
        };
        let daily_limit = match channel_kind {
            "github" => Some(limits.max_issues_per_day),
            "console" | "jsonl" => None,
            _ => Some(limits.max_alerts_per_day),
        };
        let mut route = Route::new()
            .notify_on(notify_on)
            .success(self.notify_success)
            .digest(self.digest.unwrap_or(true))
            .daily_limit(daily_limit)
            .exempt(limits.exempt.iter().copied());
        if let Some(categories) = &self.notify_on_category {
            route = route.notify_on_category(categories.iter().copied());
        }
        if let Some(name) = &self.name {
            route = route.named(name.clone());
        }
        route
    }
}

impl ChannelConfig {
    /// This channel's route: [`RouteConfig::to_route`] with its own kind.
    pub fn to_route(&self, limits: &RateLimitsConfig) -> Route {
        self.route().to_route(self.kind(), limits)
    }
}
