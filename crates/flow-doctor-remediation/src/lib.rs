//! [`Remediator`](flow_doctor_core::Remediator) implementation: playbooks,
//! the decision gate, and executors for local commands, AWS SSM and AWS Step
//! Functions. Dry run by default.
