//! Start-up: the sealing key is required with PostgreSQL, and the retention job runs at
//! once, deleting finished deliveries past their retention.

use std::time::Duration;

use serde_json::json;
use testkit::TestPostgres;
use wiremock::ResponseTemplate;

use super::{
    app, create_customer, deliveries, receiver, register, settled_delivery, LOCAL_RECEIVERS,
};
use crate::helpers::{eventually_async, start_on_postgres_with, TestApp, SECRET};

#[tokio::test]
async fn start_up_refuses_postgres_without_an_explicit_encryption_key() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let scratch = testkit::TempSqlite::new();
    let args: Vec<String> = [
        "--data-dir",
        scratch.dir().to_str().unwrap(),
        "--database-url",
        db.url(),
        "--jwt-secret",
        SECRET,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let err = TestApp::start(&args)
        .await
        .err()
        .expect("start-up should fail");
    assert!(
        format!("{err:#}").contains("SECRETS_ENCRYPTION_KEY is required"),
        "{err:#}"
    );
    assert!(!scratch.dir().join("secrets_encryption_key").exists());
}

fn execute(db: &TestPostgres, sql: &str) {
    use diesel::connection::SimpleConnection as _;
    use diesel::Connection as _;
    diesel::PgConnection::establish(db.url())
        .unwrap()
        .batch_execute(sql)
        .unwrap();
}

fn count(db: &TestPostgres, table: &str) -> i64 {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
        .get_result::<Count>(&mut PgConnection::establish(db.url()).unwrap())
        .unwrap()
        .n
}

#[tokio::test]
async fn deliveries_past_their_retention_are_deleted_with_their_events() {
    let Some(db) = TestPostgres::create() else {
        return;
    };
    let (first, bridge) = app(&db, &LOCAL_RECEIVERS).await;
    let token = first.token().await;
    let hook = receiver(ResponseTemplate::new(200)).await;
    let (endpoint, _) = register(&first, &token, &hook, json!([])).await;
    create_customer(&first, &token, 1).await;
    settled_delivery(&first, &token, &endpoint, "delivered").await;
    first.handle.stop(true).await;
    // Finished 31 days ago: past the default retention of 30.
    execute(
        &db,
        "UPDATE outbox_jobs SET finished_at = now() - interval '31 days' WHERE kind = 'webhook'; \
         UPDATE webhook_events SET created_at = now() - interval '31 days'",
    );
    assert_eq!(count(&db, "webhook_events"), 1);

    let second = start_on_postgres_with(&db, &bridge, &LOCAL_RECEIVERS).await;
    assert!(
        eventually_async(Duration::from_secs(10), || async {
            count(&db, "webhook_events") == 0
        })
        .await,
        "the old event was not deleted"
    );
    assert!(deliveries(&second, &token, &endpoint).await.is_empty());
    // The endpoint itself stays.
    let (status, _) = second
        .get(&token, &format!("/webhook-endpoints/{endpoint}"))
        .await;
    assert_eq!(status, 200);
}
