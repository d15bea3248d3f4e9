//! A stateful fake of GitHub's issues REST API on a loopback wiremock
//! server: it answers with the documented response shapes (issue, comment,
//! label and user objects as in GitHub's REST reference), keeps issues and
//! comments in memory, checks the bearer token, and can be told to fail.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub(crate) const OWNER: &str = "acme";
pub(crate) const REPO: &str = "etl";

#[derive(Default)]
struct State {
    token: String,
    issues: BTreeMap<u64, Value>,
    comments: Vec<(u64, Value)>,
    next_id: u64,
    fail: VecDeque<ResponseTemplate>,
    fail_matching: Vec<(String, ResponseTemplate)>,
    down: Option<u16>,
}

/// The fake server and its state.
pub(crate) struct FakeGithub {
    pub(crate) server: MockServer,
    state: Arc<Mutex<State>>,
}

struct Responder(Arc<Mutex<State>>);

fn lock(s: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

impl FakeGithub {
    /// A fake accepting `token`.
    pub(crate) async fn start(token: &str) -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State {
            token: token.to_string(),
            next_id: 1_000,
            ..State::default()
        }));
        Mock::given(any())
            .respond_with(Responder(state.clone()))
            .mount(&server)
            .await;
        Self { server, state }
    }

    pub(crate) fn uri(&self) -> String {
        self.server.uri()
    }

    /// Answers the next request with `response`, whatever it is.
    pub(crate) fn fail_next(&self, response: ResponseTemplate) {
        lock(&self.state).fail.push_back(response);
    }

    /// Answers the next request `METHOD path` with `response`.
    pub(crate) fn fail_next_matching(&self, call: &str, response: ResponseTemplate) {
        lock(&self.state)
            .fail_matching
            .push((call.to_string(), response));
    }

    /// Answers every request with `status` until called with `None`.
    pub(crate) fn set_down(&self, status: Option<u16>) {
        lock(&self.state).down = status;
    }

    /// Every issue (and pull request), by number.
    pub(crate) fn issues(&self) -> Vec<Value> {
        lock(&self.state).issues.values().cloned().collect()
    }

    /// Issues only (no pull requests).
    pub(crate) fn real_issues(&self) -> Vec<Value> {
        self.issues()
            .into_iter()
            .filter(|i| i.get("pull_request").is_none())
            .collect()
    }

    /// Bodies of the comments on issue `number`, oldest first.
    pub(crate) fn comments(&self, number: u64) -> Vec<String> {
        lock(&self.state)
            .comments
            .iter()
            .filter(|(n, _)| *n == number)
            .map(|(_, c)| c["body"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Adds an issue as if filed earlier; returns its number.
    pub(crate) fn insert_issue(
        &self,
        title: &str,
        body: &str,
        labels: &[&str],
        pull_request: bool,
    ) -> u64 {
        let mut st = lock(&self.state);
        let number = st.issues.len() as u64 + 1;
        st.next_id += 1;
        let labels: Vec<String> = labels.iter().map(|s| s.to_string()).collect();
        let mut issue = issue_json(st.next_id, number, title, body, &labels);
        if pull_request {
            issue["pull_request"] = json!({
                "url": format!("https://api.github.com/repos/{OWNER}/{REPO}/pulls/{number}"),
                "html_url": format!("https://github.com/{OWNER}/{REPO}/pull/{number}"),
                "diff_url": format!("https://github.com/{OWNER}/{REPO}/pull/{number}.diff"),
                "patch_url": format!("https://github.com/{OWNER}/{REPO}/pull/{number}.patch"),
            });
        }
        st.issues.insert(number, issue);
        number
    }

    /// Closes an issue.
    pub(crate) fn close(&self, number: u64) {
        if let Some(i) = lock(&self.state).issues.get_mut(&number) {
            i["state"] = json!("closed");
            i["state_reason"] = json!("completed");
            i["closed_at"] = json!("2026-01-02T00:00:00Z");
        }
    }

    /// Every request received, in order.
    pub(crate) async fn requests(&self) -> Vec<Request> {
        self.server.received_requests().await.unwrap_or_default()
    }

    /// `METHOD path` of every request, in order.
    pub(crate) async fn calls(&self) -> Vec<String> {
        self.requests()
            .await
            .iter()
            .map(|r| format!("{} {}", r.method, r.url.path()))
            .collect()
    }
}

fn user_json() -> Value {
    json!({
        "login": "flow-doctor-bot",
        "id": 583231,
        "node_id": "MDQ6VXNlcjU4MzIzMQ==",
        "avatar_url": "https://avatars.githubusercontent.com/u/583231?v=4",
        "gravatar_id": "",
        "url": "https://api.github.com/users/flow-doctor-bot",
        "html_url": "https://github.com/flow-doctor-bot",
        "followers_url": "https://api.github.com/users/flow-doctor-bot/followers",
        "following_url": "https://api.github.com/users/flow-doctor-bot/following{/other_user}",
        "gists_url": "https://api.github.com/users/flow-doctor-bot/gists{/gist_id}",
        "starred_url": "https://api.github.com/users/flow-doctor-bot/starred{/owner}{/repo}",
        "subscriptions_url": "https://api.github.com/users/flow-doctor-bot/subscriptions",
        "organizations_url": "https://api.github.com/users/flow-doctor-bot/orgs",
        "repos_url": "https://api.github.com/users/flow-doctor-bot/repos",
        "events_url": "https://api.github.com/users/flow-doctor-bot/events{/privacy}",
        "received_events_url": "https://api.github.com/users/flow-doctor-bot/received_events",
        "type": "User",
        "site_admin": false
    })
}

fn label_json(name: &str) -> Value {
    json!({
        "id": 208045946 + name.len() as u64,
        "node_id": "MDU6TGFiZWwyMDgwNDU5NDY=",
        "url": format!("https://api.github.com/repos/{OWNER}/{REPO}/labels/{name}"),
        "name": name,
        "description": null,
        "color": "f29513",
        "default": false
    })
}

fn issue_json(id: u64, number: u64, title: &str, body: &str, labels: &[String]) -> Value {
    let api = format!("https://api.github.com/repos/{OWNER}/{REPO}");
    json!({
        "id": id,
        "node_id": "MDU6SXNzdWUx",
        "url": format!("{api}/issues/{number}"),
        "repository_url": api,
        "labels_url": format!("{api}/issues/{number}/labels{{/name}}"),
        "comments_url": format!("{api}/issues/{number}/comments"),
        "events_url": format!("{api}/issues/{number}/events"),
        "html_url": format!("https://github.com/{OWNER}/{REPO}/issues/{number}"),
        "number": number,
        "state": "open",
        "state_reason": null,
        "title": title,
        "body": body,
        "user": user_json(),
        "labels": labels.iter().map(|l| label_json(l)).collect::<Vec<_>>(),
        "assignee": null,
        "assignees": [],
        "milestone": null,
        "locked": false,
        "active_lock_reason": null,
        "comments": 0,
        "closed_at": null,
        "created_at": "2026-01-01T08:00:00Z",
        "updated_at": "2026-01-01T08:00:00Z",
        "closed_by": null,
        "author_association": "CONTRIBUTOR"
    })
}

fn repo_json() -> Value {
    json!({
        "id": 1296269,
        "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5",
        "name": REPO,
        "full_name": format!("{OWNER}/{REPO}"),
        "private": false,
        "owner": user_json(),
        "html_url": format!("https://github.com/{OWNER}/{REPO}"),
        "default_branch": "main",
        "has_issues": true,
        "open_issues_count": 0
    })
}

fn message(status: u16, text: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "message": text,
        "documentation_url": "https://docs.github.com/rest",
        "status": status.to_string()
    }))
}

impl Respond for Responder {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut st = lock(&self.0);
        if let Some(r) = st.fail.pop_front() {
            return r;
        }
        let call = format!("{} {}", req.method, req.url.path());
        if let Some(at) = st.fail_matching.iter().position(|(c, _)| *c == call) {
            return st.fail_matching.remove(at).1;
        }
        if let Some(status) = st.down {
            return message(status, "Server Error");
        }
        let auth = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if auth != format!("Bearer {}", st.token) {
            return message(401, "Bad credentials");
        }
        let segments: Vec<String> = req
            .url
            .path_segments()
            .map(|s| s.map(str::to_string).collect())
            .unwrap_or_default();
        let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
        let method = req.method.as_str();
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        match (method, segs.as_slice()) {
            ("GET", ["user"]) => ResponseTemplate::new(200).set_body_json(user_json()),
            ("GET", ["repos", o, r]) if *o == OWNER && *r == REPO => {
                ResponseTemplate::new(200).set_body_json(repo_json())
            }
            ("GET", ["repos", o, r, "issues"]) if *o == OWNER && *r == REPO => {
                let q: BTreeMap<String, String> = req.url.query_pairs().into_owned().collect();
                let state = q.get("state").map(String::as_str).unwrap_or("open");
                let wanted: Vec<&str> = q
                    .get("labels")
                    .map(|l| l.split(',').collect())
                    .unwrap_or_default();
                let per_page: usize = q.get("per_page").and_then(|p| p.parse().ok()).unwrap_or(30);
                let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
                let mut list: Vec<Value> = st
                    .issues
                    .values()
                    .filter(|i| state == "all" || i["state"] == state)
                    .filter(|i| {
                        wanted.iter().all(|w| {
                            i["labels"]
                                .as_array()
                                .is_some_and(|ls| ls.iter().any(|l| l["name"] == *w))
                        })
                    })
                    .cloned()
                    .collect();
                if q.get("direction").map(String::as_str) != Some("asc") {
                    list.reverse();
                }
                let page: Vec<Value> = list
                    .into_iter()
                    .skip((page - 1) * per_page)
                    .take(per_page)
                    .collect();
                ResponseTemplate::new(200).set_body_json(page)
            }
            ("POST", ["repos", o, r, "issues"]) if *o == OWNER && *r == REPO => {
                let Some(title) = body["title"].as_str() else {
                    return message(422, "Validation Failed");
                };
                let labels: Vec<String> = body["labels"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|l| l.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default();
                let number = st.issues.len() as u64 + 1;
                st.next_id += 1;
                let issue = issue_json(
                    st.next_id,
                    number,
                    title,
                    body["body"].as_str().unwrap_or_default(),
                    &labels,
                );
                st.issues.insert(number, issue.clone());
                ResponseTemplate::new(201).set_body_json(issue)
            }
            ("GET", ["repos", _, _, "issues", n]) => {
                match n.parse::<u64>().ok().and_then(|n| st.issues.get(&n)) {
                    Some(issue) => ResponseTemplate::new(200).set_body_json(issue.clone()),
                    None => message(404, "Not Found"),
                }
            }
            ("PATCH", ["repos", _, _, "issues", n]) => {
                let Some(issue) = n.parse::<u64>().ok().and_then(|n| st.issues.get_mut(&n)) else {
                    return message(404, "Not Found");
                };
                for key in ["title", "body", "state"] {
                    if let Some(v) = body.get(key) {
                        issue[key] = v.clone();
                    }
                }
                issue["updated_at"] = json!("2026-01-01T09:00:00Z");
                ResponseTemplate::new(200).set_body_json(issue.clone())
            }
            ("POST", ["repos", _, _, "issues", n, "comments"]) => {
                let Some(number) = n.parse::<u64>().ok().filter(|n| st.issues.contains_key(n))
                else {
                    return message(404, "Not Found");
                };
                st.next_id += 1;
                let id = st.next_id;
                let comment = json!({
                    "id": id,
                    "node_id": "MDEyOklzc3VlQ29tbWVudDE=",
                    "url": format!("https://api.github.com/repos/{OWNER}/{REPO}/issues/comments/{id}"),
                    "html_url": format!("https://github.com/{OWNER}/{REPO}/issues/{number}#issuecomment-{id}"),
                    "issue_url": format!("https://api.github.com/repos/{OWNER}/{REPO}/issues/{number}"),
                    "body": body["body"],
                    "user": user_json(),
                    "created_at": "2026-01-01T09:00:00Z",
                    "updated_at": "2026-01-01T09:00:00Z",
                    "author_association": "CONTRIBUTOR"
                });
                if let Some(issue) = st.issues.get_mut(&number) {
                    let count = issue["comments"].as_u64().unwrap_or(0);
                    issue["comments"] = json!(count + 1);
                }
                st.comments.push((number, comment.clone()));
                ResponseTemplate::new(201).set_body_json(comment)
            }
            ("POST", ["repos", _, _, "issues", n, "labels"]) => {
                let Some(issue) = n.parse::<u64>().ok().and_then(|n| st.issues.get_mut(&n)) else {
                    return message(404, "Not Found");
                };
                let mut labels: Vec<Value> =
                    issue["labels"].as_array().cloned().unwrap_or_default();
                for name in body["labels"].as_array().cloned().unwrap_or_default() {
                    let name = name.as_str().unwrap_or_default();
                    if !labels.iter().any(|l| l["name"] == name) {
                        labels.push(label_json(name));
                    }
                }
                issue["labels"] = json!(labels);
                ResponseTemplate::new(200).set_body_json(labels)
            }
            _ => message(404, "Not Found"),
        }
    }
}
