//! Integration tests of flow-doctor-fix with real parts: git repositories
//! with a bare `origin`, `python3 -m unittest` runs, and wiremock servers
//! speaking GitHub's REST API and Anthropic's Messages API to the real
//! clients.

mod pipeline;
mod support;
