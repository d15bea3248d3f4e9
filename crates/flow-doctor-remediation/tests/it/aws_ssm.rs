//! The SSM executor against the moto server (SendCommand +
//! GetCommandInvocation) and, for answers moto never gives, a local fake
//! speaking the AWS JSON 1.1 protocol.

use std::time::Duration;

use flow_doctor_core::config::RemediationConfig;
use flow_doctor_core::{ActionStatus, Category, Remediator};
use flow_doctor_remediation::{
    ActionType, Gate, Playbook, PlaybookAction, PlaybookRemediator, Playbooks, SsmTag, Target,
};
use serde_json::json;
use wiremock::matchers::{header, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{Moto, clock, context, diagnosis, report, sdk_config};

fn restart_playbook(target: Target) -> Playbook {
    Playbook::builder("restart-app")
        .category(Category::Infra)
        .message_regex("Connection refused")
        .unwrap()
        .action(
            PlaybookAction::ssm(
                ActionType::RestartService,
                target,
                ["systemctl restart app-server"],
            )
            .description("Restart app-server")
            .timeout(Duration::from_secs(20))
            .safe_to_auto_run(true),
        )
        .build()
        .unwrap()
}

fn remediator(
    playbook: Playbook,
    sdk: flow_doctor_remediation::aws::aws_config::SdkConfig,
) -> PlaybookRemediator {
    let gate = Gate::new(&RemediationConfig::default(), None).unwrap();
    PlaybookRemediator::new(Playbooks::new().with(playbook).unwrap(), gate)
        .unwrap()
        .dry_run(false)
        .poll_interval(Duration::from_millis(100))
        .aws_sdk_config(sdk)
}

/// Acceptance 1: INFRA at 0.95 matching a playbook runs the SSM action on
/// moto and records success; the same at 0.80 escalates and sends nothing.
#[tokio::test]
async fn infra_at_095_runs_the_ssm_action_on_moto_and_at_080_escalates() {
    let moto = Moto::start();
    let instance = moto.run_instance("app").await;
    let rem = remediator(
        restart_playbook(Target::instances([instance.clone()])),
        moto.sdk_config().await,
    );
    let clock = clock();
    let (_store, ctx) = context(&clock);
    let r = report("etl", "psycopg2.OperationalError: Connection refused");

    let a = rem
        .remediate(&r, &diagnosis(Category::Infra, 0.95), &ctx)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(a.status, ActionStatus::Succeeded, "{}", a.detail);
    assert!(
        a.detail.starts_with(&format!(
            "ran restart_service \"Restart app-server\" via ssm on {instance}: `systemctl restart app-server`: succeeded on 1 instance (command "
        )),
        "{}",
        a.detail
    );
    let result = &a.data["result"];
    let command_id = result["command_id"].as_str().unwrap().to_string();
    assert!(!command_id.is_empty());
    assert_eq!(result["document"], "AWS-RunShellScript");
    assert_eq!(result["instances"][0]["instance_id"], instance.as_str());
    assert_eq!(result["instances"][0]["status"], "Success");
    assert_eq!(a.data["route"], "auto_remediate");

    // The command moto recorded is the one the playbook asked for.
    let ssm = flow_doctor_remediation::aws::aws_sdk_ssm::Client::new(&moto.sdk_config().await);
    let listed = ssm
        .list_commands()
        .command_id(&command_id)
        .send()
        .await
        .unwrap();
    let cmd = &listed.commands()[0];
    assert_eq!(cmd.document_name(), Some("AWS-RunShellScript"));
    assert_eq!(
        cmd.parameters().unwrap()["commands"],
        vec!["systemctl restart app-server".to_string()]
    );
    assert_eq!(cmd.instance_ids(), std::slice::from_ref(&instance));

    let low = rem
        .remediate(&r, &diagnosis(Category::Infra, 0.80), &ctx)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(low.status, ActionStatus::Skipped);
    assert_eq!(
        low.detail,
        "escalated: confidence 0.80 below auto-remediate threshold 0.90"
    );
    assert!(low.data.get("result").is_none(), "nothing was sent");
    let all = ssm.list_commands().send().await.unwrap();
    assert_eq!(all.commands().len(), 1, "the escalation sent no command");
}

#[tokio::test]
async fn tag_targets_reach_the_tagged_instances() {
    let moto = Moto::start();
    let web = moto.run_instance("web").await;
    let app = moto.run_instance("app").await;
    let rem = remediator(
        restart_playbook(Target::tags([SsmTag::new("Role", ["app"])])),
        moto.sdk_config().await,
    );
    let clock = clock();
    let (_store, ctx) = context(&clock);
    let a = rem
        .remediate(
            &report("etl", "Connection refused"),
            &diagnosis(Category::Infra, 0.95),
            &ctx,
        )
        .await
        .unwrap()
        .remove(0);
    assert_eq!(a.status, ActionStatus::Succeeded, "{}", a.detail);
    assert!(a.detail.contains("via ssm on tag:Role=app"), "{}", a.detail);
    let ids: Vec<&str> = a.data["result"]["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["instance_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [app.as_str()], "only the Role=app instance, not {web}");
}

/// moto accepts any instance id in SendCommand (it does not check that the
/// instance is managed), so AWS's `InvalidInstanceId` answer is played by a
/// local fake speaking the AWS JSON 1.1 protocol, with the real SDK client.
#[tokio::test]
async fn an_unknown_instance_is_a_failed_action_with_the_aws_error_code() {
    let fake = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("x-amz-target", "AmazonSSM.SendCommand"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            json!({
                "__type": "InvalidInstanceId",
                "message": "Instances [[i-0deadbeef0000000]] not in a valid state for account 123456789012"
            })
            .to_string(),
            "application/x-amz-json-1.1",
        ))
        .expect(1)
        .mount(&fake)
        .await;
    let rem = remediator(
        restart_playbook(Target::instances(["i-0deadbeef0000000"])),
        sdk_config(&fake.uri()).await,
    );
    let clock = clock();
    let (_store, ctx) = context(&clock);
    let a = rem
        .remediate(
            &report("etl", "Connection refused"),
            &diagnosis(Category::Infra, 0.95),
            &ctx,
        )
        .await
        .unwrap()
        .remove(0);
    assert_eq!(a.status, ActionStatus::Failed);
    assert!(
        a.detail.ends_with("SendCommand failed: InvalidInstanceId: Instances [[i-0deadbeef0000000]] not in a valid state for account 123456789012"),
        "{}",
        a.detail
    );
    assert_eq!(a.data["result"]["aws_error_code"], "InvalidInstanceId");

    // The request carried the document, the commands and the instance.
    let requests = fake.received_requests().await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(body["DocumentName"], "AWS-RunShellScript");
    assert_eq!(body["InstanceIds"], json!(["i-0deadbeef0000000"]));
    assert_eq!(
        body["Parameters"]["commands"],
        json!(["systemctl restart app-server"])
    );
    assert_eq!(body["Parameters"]["executionTimeout"], json!(["20"]));
}

/// Right after SendCommand, AWS may answer GetCommandInvocation with
/// `InvocationDoesNotExist`; moto never does, so a local fake (AWS JSON 1.1)
/// plays it. The executor keeps polling and records the final state and
/// output.
#[tokio::test]
async fn invocation_does_not_exist_yet_is_polled_until_it_ends() {
    let fake = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("x-amz-target", "AmazonSSM.SendCommand"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            json!({"Command": {"CommandId": "cmd-1", "InstanceIds": ["i-0abc"], "Status": "Pending",
                   "DocumentName": "AWS-RunShellScript"}})
            .to_string(),
            "application/x-amz-json-1.1",
        ))
        .mount(&fake)
        .await;
    Mock::given(method("POST"))
        .and(header("x-amz-target", "AmazonSSM.GetCommandInvocation"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            json!({"__type": "InvocationDoesNotExist", "message": ""}).to_string(),
            "application/x-amz-json-1.1",
        ))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&fake)
        .await;
    Mock::given(method("POST"))
        .and(header("x-amz-target", "AmazonSSM.GetCommandInvocation"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            json!({"CommandId": "cmd-1", "InstanceId": "i-0abc", "Status": "Failed",
                   "ResponseCode": 1, "StandardOutputContent": "",
                   "StandardErrorContent": "Failed to restart app-server.service: Unit not found.\n"})
            .to_string(),
            "application/x-amz-json-1.1",
        ))
        .with_priority(2)
        .mount(&fake)
        .await;
    let rem = remediator(
        restart_playbook(Target::instances(["i-0abc"])),
        sdk_config(&fake.uri()).await,
    );
    let clock = clock();
    let (_store, ctx) = context(&clock);
    let a = rem
        .remediate(
            &report("etl", "Connection refused"),
            &diagnosis(Category::Infra, 0.95),
            &ctx,
        )
        .await
        .unwrap()
        .remove(0);
    assert_eq!(a.status, ActionStatus::Failed);
    assert!(
        a.detail.ends_with("failed on i-0abc Failed: Failed to restart app-server.service: Unit not found. (command cmd-1)"),
        "{}",
        a.detail
    );
    let inv = &a.data["result"]["instances"][0];
    assert_eq!(inv["response_code"], 1);
    assert_eq!(inv["error"], serde_json::Value::Null);
    let polls = fake
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| {
            r.headers
                .get("x-amz-target")
                .is_some_and(|v| v == "AmazonSSM.GetCommandInvocation")
        })
        .count();
    assert_eq!(polls, 3);
}
