//! The kennels service: `GET /api/v1/kennels?id=N`.
//!
//! Looks the kennel's name up (an unknown id is a 404), asks inventory for the
//! kennel's dog ids (span `kennels.get-inventory`), then asks dogs for each
//! dog's name concurrently (one `kennels.get-dog-name` span each), and answers
//! `{"name": ..., "dogs": [{"id": 3, "name": "Jack"}, ...]}`. A failed dog
//! lookup gives [`NAMELESS_DOG`]; a failed inventory an empty list.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use tracing::Instrument;

use crate::http_client::{get_text, traced_http_client, TracedHttpClient};

/// The kennels, by id.
pub const KENNELS: [&str; 3] = [
    "awesome kennel",
    "not as awesome kennel",
    "some other kennel",
];

/// The name given to a dog whose name could not be fetched.
pub const NAMELESS_DOG: &str = "Nameless Dog";

/// The answer to `GET /api/v1/kennels?id=N`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kennel {
    /// The kennel's name.
    pub name: String,
    /// Its dogs, in inventory order.
    pub dogs: Vec<Dog>,
}

/// One dog of a [`Kennel`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dog {
    /// The dog's id.
    pub id: u32,
    /// The dog's name, or [`NAMELESS_DOG`].
    pub name: String,
}

#[derive(Debug, Clone)]
struct AppState {
    client: TracedHttpClient,
    inventory_url: Arc<str>,
    dogs_url: Arc<str>,
}

#[derive(Debug, Deserialize)]
struct KennelQuery {
    id: Option<String>,
}

/// The kennels router: `/api/v1/kennels`, the health routes, the server layer,
/// and a traced client for inventory (`inventory_url`) and dogs (`dogs_url`).
///
/// Make it after `nais_otel::init()`.
pub fn router(inventory_url: &str, dogs_url: &str) -> Router {
    let state = AppState {
        client: traced_http_client(),
        inventory_url: inventory_url.trim_end_matches('/').into(),
        dogs_url: dogs_url.trim_end_matches('/').into(),
    };
    Router::new()
        .route("/api/v1/kennels", get(get_kennel))
        .with_state(state)
        .merge(crate::health::health_routes("kennels"))
        .layer(nais_otel::server_layer().traceparent_response_header(true))
}

async fn get_kennel(State(state): State<AppState>, Query(query): Query<KennelQuery>) -> Response {
    let id = query.id.as_deref().and_then(|id| id.trim().parse().ok());
    let Some((id, name)) = id.and_then(|id| kennel_name(id).map(|name| (id, name))) else {
        return (StatusCode::NOT_FOUND, "no such kennel\n").into_response();
    };
    let dog_ids = state.get_inventory(id).await;
    let dogs = join_all(dog_ids.into_iter().map(|id| {
        let state = &state;
        async move {
            Dog {
                id,
                name: state.get_dog_name(id).await,
            }
        }
    }))
    .await;
    Json(Kennel {
        name: name.to_owned(),
        dogs,
    })
    .into_response()
}

#[tracing::instrument(name = "kennels.get-kennel-name")]
fn kennel_name(id: usize) -> Option<&'static str> {
    KENNELS.get(id).copied()
}

impl AppState {
    async fn get_inventory(&self, kennel_id: usize) -> Vec<u32> {
        let span = tracing::info_span!("kennels.get-inventory", kennel.id = kennel_id as i64);
        let uri = format!(
            "{}/api/v1/inventory?kennelId={kennel_id}",
            self.inventory_url
        );
        async {
            let answer = get_text(&self.client, &uri).await.and_then(|body| {
                serde_json::from_str::<Vec<u32>>(&body)
                    .map_err(|e| format!("GET {uri}: not a list of ids: {e}"))
            });
            answer.unwrap_or_else(|error| {
                tracing::warn!(%error, "inventory lookup failed; the kennel gets no dogs");
                Vec::new()
            })
        }
        .instrument(span)
        .await
    }

    async fn get_dog_name(&self, dog_id: u32) -> String {
        let span = tracing::info_span!("kennels.get-dog-name", dog.id = i64::from(dog_id));
        let uri = format!("{}/api/v1/dogs?id={dog_id}", self.dogs_url);
        async {
            get_text(&self.client, &uri).await.unwrap_or_else(|error| {
                tracing::warn!(%error, "dog lookup failed; the dog is nameless");
                NAMELESS_DOG.to_owned()
            })
        }
        .instrument(span)
        .await
    }
}
