//! Outgoing webhooks: the account's enabled endpoints, read whenever an event is written
//! (every registration, change, KYC report and erasure that has one), and an endpoint's
//! deliveries page by page, and the claim of due deliveries (its count of the leases in
//! flight, and its look along the queue).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use chrono::Utc;
use domain::{
    AccountId, EndpointDescription, EndpointId, EventFilter, UrlRules, WebhookEndpoint,
    WebhookEventType, WebhookUrl,
};
use ports::webhooks::{DeliveryCursor, SealedSecret};
use ports::{CustomerRepository as _, Outbox as _, WebhookEndpointRepository as _};
use ports::{EventDraft, Events, JobId, Presenter};
use testkit::{registration, sample_customer};

use super::check::{Index, Probe};
use super::{Fixture, Statement};

/// The fixture account's endpoint: it receives every event.
pub fn endpoint_of(account: AccountId) -> WebhookEndpoint {
    WebhookEndpoint {
        id: EndpointId::new_random(),
        account_id: account,
        url: WebhookUrl::parse("https://receiver.example/hook", UrlRules::default()).unwrap(),
        description: EndpointDescription::parse("plans").unwrap(),
        filter: EventFilter::all(),
        enabled: true,
        created_at: Utc::now(),
        updated_at: None,
    }
}

pub fn sealed() -> SealedSecret {
    SealedSecret("v1:sealed".into())
}

struct Bodies;

impl Presenter for Bodies {
    fn event_body(&self, draft: &EventDraft) -> String {
        format!("{{\"id\":\"{}\"}}", draft.id)
    }
}

/// Claims due deliveries as the webhook worker does (a share of three per endpoint).
fn claim_deliveries<'a>(
    s: &'a adapters::Store,
    _f: &'a Fixture,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + 'a>> {
    Box::pin(async move {
        s.claim(&ports::ClaimRequest {
            kind: ports::JobKind::Webhook,
            limit: 20,
            lease: std::time::Duration::from_secs(60),
            per_endpoint: Some(3),
        })
        .await
        .unwrap();
    })
}

fn cursor(f: &Fixture) -> Option<DeliveryCursor> {
    Some(DeliveryCursor {
        created_at: f.cursor,
        id: JobId(f.customer.0),
    })
}

/// Whether `sql` is a page of deliveries, after a cursor or not.
fn deliveries_page(sql: &str, after: bool) -> bool {
    let Some((head, cond)) = sql.split_once(" where ") else {
        return false;
    };
    let Some((cond, _order)) = cond.split_once(" order by ") else {
        return false;
    };
    head.starts_with("select outbox_jobs.id, outbox_jobs.endpoint_id")
        && cond.contains("outbox_jobs.created_at") == after
}

pub fn statements() -> Vec<Statement> {
    vec![
        Statement {
            name: "enabled endpoints of the account (an event written)",
            run: |s, f| {
                Box::pin(async move {
                    let n = f.inserted.fetch_add(1, Ordering::Relaxed);
                    let customer = sample_customer(f.account, &format!("event{n}@example.com"));
                    let event = Events::new(Arc::new(Bodies)).about(
                        WebhookEventType::CustomerCreated,
                        &customer,
                        None,
                        customer.created_at,
                    );
                    s.insert(&registration(&customer).with_event(event))
                        .await
                        .unwrap();
                })
            },
            sql: |sql| sql.starts_with("select webhook_endpoints.id, webhook_endpoints.events"),
            params: Some(|f| vec![f.account(), "true".into()]),
            probe: Probe::uses(Index::Named("webhook_endpoints_account_idx"))
                .pg_cond(&["account_id ="])
                .sqlite_cond(&["account_id=?"]),
        },
        Statement {
            name: "deliveries page",
            run: |s, f| {
                Box::pin(async move {
                    s.list_deliveries(f.account, f.endpoint, None, 21)
                        .await
                        .unwrap();
                })
            },
            sql: |sql| deliveries_page(sql, false),
            params: Some(|f| vec![f.account(), f.endpoint()]),
            probe: Probe::uses(Index::Named("outbox_jobs_endpoint_idx"))
                .pg_cond(&["endpoint_id ="])
                .sqlite_cond(&["endpoint_id=?"])
                .in_index_order(),
        },
        Statement {
            name: "deliveries page after a cursor",
            run: |s, f| {
                Box::pin(async move {
                    s.list_deliveries(f.account, f.endpoint, cursor(f), 21)
                        .await
                        .unwrap();
                })
            },
            sql: |sql| deliveries_page(sql, true),
            params: Some(|f| vec![f.account(), f.endpoint(), f.cursor(), f.customer()]),
            probe: Probe::uses(Index::Named("outbox_jobs_endpoint_idx"))
                .pg_cond(&["endpoint_id =", "ROW(created_at, id) <"])
                .sqlite_cond(&["endpoint_id=?", "(created_at,id)<(?,?)"])
                .in_index_order(),
        },
        Statement {
            name: "delivery claim: leases in flight per endpoint",
            run: claim_deliveries,
            sql: |sql| {
                sql.starts_with("select outbox_jobs.endpoint_id, count(*) from outbox_jobs")
                    && sql.contains("outbox_jobs.locked_until >")
            },
            params: Some(|_| vec!["'webhook'".into(), "now()".into()]),
            probe: Probe::uses(Index::Named("outbox_jobs_leased_idx"))
                .pg_cond(&["locked_until >"])
                .sqlite_cond(&["locked_until>?"]),
        },
        Statement {
            name: "delivery claim: due deliveries of endpoints below their share",
            run: claim_deliveries,
            sql: |sql| {
                sql.starts_with("select outbox_jobs.id, outbox_jobs.endpoint_id from outbox_jobs")
                    && sql.contains("outbox_jobs.locked_until")
                    && sql.contains("outbox_jobs.endpoint_id")
                    && !sql.contains(" count(")
            },
            params: Some(|_| {
                vec![
                    "'webhook'".into(),
                    "now()".into(),
                    "now()".into(),
                    "'{00000000-0000-0000-0000-000000000000}'".into(),
                    "16".into(),
                ]
            }),
            probe: Probe::uses(Index::Named("outbox_jobs_due_idx"))
                .pg_cond(&["next_attempt_at <="])
                .sqlite_cond(&["next_attempt_at<?"]),
        },
    ]
}
