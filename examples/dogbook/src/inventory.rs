//! The inventory service: `GET /api/v1/inventory?kennelId=N` (also `/?kennelId=N`)
//! answers the kennel's dog ids as JSON after 100 ms of work in the span
//! `inventory.get-inventory-by-kennel-id`; an unknown kennel is a 404.

use std::time::Duration;

use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

/// The dog ids of each kennel, by kennel id.
pub const INVENTORY: [&[u32]; 3] = [&[0], &[1, 2], &[3, 4, 5]];

/// How long looking up a kennel's inventory takes.
pub const WORK: Duration = Duration::from_millis(100);

#[derive(Debug, Deserialize)]
struct InventoryQuery {
    #[serde(rename = "kennelId")]
    kennel_id: Option<String>,
}

/// The inventory router: `/api/v1/inventory` and `/`, the health routes and
/// the server layer. Make it after `nais_otel::init()`.
pub fn router() -> Router {
    Router::new()
        .route("/api/v1/inventory", get(get_inventory))
        .route("/", get(get_inventory))
        .merge(crate::health::health_routes("inventory"))
        .layer(nais_otel::server_layer().traceparent_response_header(true))
}

async fn get_inventory(Query(query): Query<InventoryQuery>) -> Response {
    let id = query
        .kennel_id
        .as_deref()
        .and_then(|id| id.trim().parse().ok());
    match id {
        Some(id) => match get_inventory_by_kennel_id(id).await {
            Some(ids) => Json(ids).into_response(),
            None => (StatusCode::NOT_FOUND, "no such kennel\n").into_response(),
        },
        None => (StatusCode::NOT_FOUND, "no such kennel\n").into_response(),
    }
}

#[tracing::instrument(name = "inventory.get-inventory-by-kennel-id", fields(inventory.kennel_id = kennel_id as i64), skip_all)]
async fn get_inventory_by_kennel_id(kennel_id: usize) -> Option<&'static [u32]> {
    // Stands in for a database query.
    tokio::time::sleep(WORK).await;
    INVENTORY.get(kennel_id).copied()
}
