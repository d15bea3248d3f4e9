use std::sync::Arc;
use std::time::Duration;

use flow_doctor_core::Store;
use flow_doctor_core::testing::{self, store_conformance};
use flow_doctor_storage::SqliteStore;

fn open(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(dir.path().join("flow_doctor.db"), Duration::from_secs(10)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(open(&dir));
    assert_eq!(store.name(), "sqlite");
    store_conformance(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_passes_again_on_a_reopened_file_and_called_directly() {
    let dir = tempfile::tempdir().unwrap();
    store_conformance(Arc::new(open(&dir))).await;
    // Reopened: the same checks run beside the first run's data.
    let store = open(&dir);
    testing::check_claim(&store).await;
    testing::check_reports(&store).await;
    testing::check_decisions(&store).await;
    testing::check_actions(&store).await;
    testing::check_digest(&store).await;
    testing::check_feedback_and_patterns(&store).await;
    testing::check_budget(&store).await;
}
