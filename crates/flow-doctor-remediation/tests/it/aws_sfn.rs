//! The Step Functions executor against the moto server (CreateStateMachine,
//! StartExecution, DescribeExecution) and, for RedriveExecution, which moto
//! does not implement (it answers HTTP 500), a local fake speaking the AWS
//! JSON 1.0 protocol with the real SDK client.

use std::time::Duration;

use flow_doctor_core::config::RemediationConfig;
use flow_doctor_core::{ActionStatus, Category, Remediator};
use flow_doctor_remediation::aws::aws_config::SdkConfig;
use flow_doctor_remediation::aws::aws_sdk_sfn;
use flow_doctor_remediation::{
    ExecutionRef, Gate, Playbook, PlaybookAction, PlaybookRemediator, Playbooks,
};
use serde_json::json;
use wiremock::matchers::{body_partial_json, header, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{Moto, clock, context, diagnosis, report, sdk_config};

fn remediator(action: PlaybookAction, sdk: SdkConfig) -> PlaybookRemediator {
    let playbook = Playbook::builder("sfn")
        .message_regex("States\\.")
        .unwrap()
        .action(action.safe_to_auto_run(true))
        .build()
        .unwrap();
    let gate = Gate::new(&RemediationConfig::default(), None).unwrap();
    PlaybookRemediator::new(Playbooks::new().with(playbook).unwrap(), gate)
        .unwrap()
        .dry_run(false)
        .poll_interval(Duration::from_millis(100))
        .aws_sdk_config(sdk)
}

async fn create_state_machine(sdk: &SdkConfig, name: &str) -> String {
    let sfn = aws_sdk_sfn::Client::new(sdk);
    let definition = json!({"StartAt": "Load", "States": {"Load": {"Type": "Pass", "End": true}}});
    sfn.create_state_machine()
        .name(name)
        .definition(definition.to_string())
        .role_arn("arn:aws:iam::123456789012:role/etl-sfn")
        .send()
        .await
        .unwrap()
        .state_machine_arn()
        .to_string()
}

/// moto keeps executions RUNNING: the action is pending at its timeout,
/// with the execution ARN recorded, and the execution really exists.
#[tokio::test]
async fn rerun_starts_an_execution_on_moto_and_records_it_pending_while_running() {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let machine = create_state_machine(&sdk, "nightly-load").await;
    let rem = remediator(
        PlaybookAction::start_execution(&machine)
            .input(&json!({"trigger": "flow-doctor"}))
            .timeout(Duration::from_secs(1)),
        sdk.clone(),
    );
    let clock = clock();
    let (_store, ctx) = context(&clock);
    let a = rem
        .remediate(
            &report("nightly-load", "States.Timeout in Load"),
            &diagnosis(Category::Transient, 0.95),
            &ctx,
        )
        .await
        .unwrap()
        .remove(0);
    assert_eq!(a.status, ActionStatus::Pending, "{}", a.detail);
    assert!(
        a.detail
            .ends_with("execution still RUNNING at the 1s timeout"),
        "{}",
        a.detail
    );
    let result = &a.data["result"];
    assert_eq!(result["operation"], "StartExecution");
    assert_eq!(result["execution_status"], "RUNNING");
    assert_eq!(a.url, None, "no console link for a custom endpoint");
    let arn = result["execution_arn"].as_str().unwrap();
    assert!(
        arn.starts_with("arn:aws:states:us-east-1:123456789012:execution:nightly-load:"),
        "{arn}"
    );

    let desc = aws_sdk_sfn::Client::new(&sdk)
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .unwrap();
    assert_eq!(desc.state_machine_arn(), machine);
    assert_eq!(desc.input(), Some(r#"{"trigger":"flow-doctor"}"#));
}

#[tokio::test]
async fn an_unknown_state_machine_is_a_failed_action_with_the_aws_error_code() {
    let moto = Moto::start();
    let missing = "arn:aws:states:us-east-1:123456789012:stateMachine:does-not-exist";
    let rem = remediator(
        PlaybookAction::start_execution(missing),
        moto.sdk_config().await,
    );
    let clock = clock();
    let (_store, ctx) = context(&clock);
    let a = rem
        .remediate(
            &report("nightly-load", "States.Timeout"),
            &diagnosis(Category::Transient, 0.95),
            &ctx,
        )
        .await
        .unwrap()
        .remove(0);
    assert_eq!(a.status, ActionStatus::Failed);
    assert!(
        a.detail
            .contains("StartExecution failed: StateMachineDoesNotExist"),
        "{}",
        a.detail
    );
    assert_eq!(
        a.data["result"]["aws_error_code"],
        "StateMachineDoesNotExist"
    );
}

const EXECUTION: &str = "arn:aws:states:us-east-1:123456789012:execution:orders:run-7";

fn json10(status: u16, body: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.to_string(), "application/x-amz-json-1.0")
}

/// moto does not implement RedriveExecution (HTTP 500), so this fake plays
/// Step Functions: `X-Amz-Target: AWSStepFunctions.RedriveExecution` with
/// body `{"executionArn": ...}` answered by `{"redriveDate": ...}`, then
/// DescribeExecution answering SUCCEEDED.
#[tokio::test]
async fn redrive_sends_the_execution_arn_from_the_report_context_and_follows_it() {
    let fake = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("x-amz-target", "AWSStepFunctions.RedriveExecution"))
        .and(header("content-type", "application/x-amz-json-1.0"))
        .and(body_partial_json(json!({"executionArn": EXECUTION})))
        .respond_with(json10(200, json!({"redriveDate": 1_767_225_600.0})))
        .expect(1)
        .mount(&fake)
        .await;
    Mock::given(method("POST"))
        .and(header("x-amz-target", "AWSStepFunctions.DescribeExecution"))
        .and(body_partial_json(json!({"executionArn": EXECUTION})))
        .respond_with(json10(
            200,
            json!({"executionArn": EXECUTION,
                   "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:orders",
                   "status": "SUCCEEDED", "startDate": 1_767_225_000.0, "stopDate": 1_767_225_660.0,
                   "output": "{\"rows\":42}", "redriveCount": 1}),
        ))
        .mount(&fake)
        .await;
    let rem = remediator(
        PlaybookAction::redrive_execution(ExecutionRef::Context("execution_arn".into())),
        sdk_config(&fake.uri()).await,
    );
    let clock = clock();
    let (_store, ctx) = context(&clock);
    let mut r = report(
        "orders",
        "States.TaskFailed: Lambda.TooManyRequestsException",
    );
    r.context.insert("execution_arn".into(), EXECUTION.into());
    let a = rem
        .remediate(&r, &diagnosis(Category::External, 0.95), &ctx)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(a.status, ActionStatus::Succeeded, "{}", a.detail);
    assert_eq!(
        a.detail,
        format!("ran redrive_execution via step_functions on {EXECUTION}: execution SUCCEEDED")
    );
    let result = &a.data["result"];
    assert_eq!(result["operation"], "RedriveExecution");
    assert_eq!(result["redrive_date"], "2026-01-01T00:00:00Z");
    assert_eq!(result["execution_arn"], EXECUTION);
    assert_eq!(result["output_tail"], "{\"rows\":42}");

    let requests = fake.received_requests().await.unwrap();
    let redrive = requests
        .iter()
        .find(|r| {
            r.headers
                .get("x-amz-target")
                .is_some_and(|v| v == "AWSStepFunctions.RedriveExecution")
        })
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&redrive.body).unwrap();
    assert_eq!(body["executionArn"], EXECUTION);
    assert!(
        redrive.headers.get("authorization").is_some_and(|v| v
            .to_str()
            .unwrap()
            .starts_with("AWS4-HMAC-SHA256 Credential=testing/")),
        "requests are signed"
    );
}

/// Redrive errors (here `ExecutionNotRedrivable`, again from the fake since
/// moto lacks the operation) and executions that end FAILED are failed
/// actions that say why.
#[tokio::test]
async fn a_refused_redrive_and_a_failed_execution_are_failed_actions() {
    let fake = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("x-amz-target", "AWSStepFunctions.RedriveExecution"))
        .respond_with(json10(
            400,
            json!({"__type": "com.amazonaws.states#ExecutionNotRedrivable",
                   "message": "Execution is RUNNING and cannot be redriven"}),
        ))
        .mount(&fake)
        .await;
    let rem = remediator(
        PlaybookAction::redrive_execution(ExecutionRef::Arn(EXECUTION.into())),
        sdk_config(&fake.uri()).await,
    );
    let clock = clock();
    let (_store, ctx) = context(&clock);
    let r = report("orders", "States.TaskFailed");
    let a = rem
        .remediate(&r, &diagnosis(Category::External, 0.95), &ctx)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(a.status, ActionStatus::Failed);
    assert!(
        a.detail.ends_with("RedriveExecution failed: ExecutionNotRedrivable: Execution is RUNNING and cannot be redriven"),
        "{}",
        a.detail
    );
    assert_eq!(a.data["result"]["aws_error_code"], "ExecutionNotRedrivable");

    fake.reset().await;
    Mock::given(method("POST"))
        .and(header("x-amz-target", "AWSStepFunctions.RedriveExecution"))
        .respond_with(json10(200, json!({"redriveDate": 1_767_225_600.0})))
        .mount(&fake)
        .await;
    Mock::given(method("POST"))
        .and(header("x-amz-target", "AWSStepFunctions.DescribeExecution"))
        .respond_with(json10(
            200,
            json!({"executionArn": EXECUTION,
                   "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:orders",
                   "status": "FAILED", "startDate": 1_767_225_000.0,
                   "error": "Lambda.TooManyRequestsException", "cause": "Rate exceeded"}),
        ))
        .mount(&fake)
        .await;
    let a = rem
        .remediate(&r, &diagnosis(Category::External, 0.95), &ctx)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(a.status, ActionStatus::Failed);
    assert!(
        a.detail
            .ends_with("execution FAILED: Lambda.TooManyRequestsException: Rate exceeded"),
        "{}",
        a.detail
    );
}
