//! The engine as a plain `Stream` of [`Event`]s, so a GUI can subscribe to
//! it (iced's `Subscription::run_with`) without this crate knowing about
//! the GUI. Dropping the stream stops the engine: that is "Work offline".

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;
use satchel_cache::Cache;
use tokio::sync::mpsc;

use crate::config::AccountConfig;
use crate::watch::{Event, WatchOptions, watch};

/// Runs [`watch`] for one account on the current tokio runtime.
pub struct EventStream {
    events: mpsc::UnboundedReceiver<Event>,
    engine: tokio::task::JoinHandle<()>,
}

/// Starts the engine for `account`. A refused login or another error the
/// engine cannot retry ends the stream after an `offline` event saying why.
pub fn engine(cache: Arc<Cache>, account: AccountConfig, options: WatchOptions) -> EventStream {
    let (tx, events) = mpsc::unbounded_channel();
    let engine = tokio::spawn(async move {
        let mut emit = |e: Event| {
            let _ = tx.send(e);
        };
        if let Err(e) = watch(&cache, &account, &options, &mut emit).await {
            emit(Event::Connectivity { state: "offline", reason: Some(e.to_string()) });
        }
    });
    EventStream { events, engine }
}

impl Stream for EventStream {
    type Item = Event;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.events.poll_recv(cx)
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        self.engine.abort();
    }
}
