//! Driving the window headless, shared by the window tests and the window
//! benchmark: run a Task and everything it leads to, click what shows a
//! label, look for a label.
#![allow(dead_code)] // each user needs a different subset

use std::collections::VecDeque;

use iced::Task;
use iced::futures::StreamExt;
use iced_runtime::Action;
use satchel::gui::{App, Message};

/// Runs `task` and everything the resulting messages start, to the end.
pub async fn settle(app: &mut App, task: Task<Message>) {
    let mut queue = VecDeque::from([task]);
    while let Some(task) = queue.pop_front() {
        let Some(stream) = iced_runtime::task::into_stream(task) else { continue };
        let actions: Vec<Action<Message>> = stream.collect().await;
        for action in actions {
            if let Action::Output(message) = action {
                queue.push_back(app.update(message));
            }
        }
    }
}

/// Delivers `messages` one by one, each settled before the next.
pub async fn deliver(app: &mut App, messages: Vec<Message>) {
    for m in messages {
        let task = app.update(m);
        settle(app, task).await;
    }
}

/// Clicks the widget showing `label` and returns the messages it produced.
pub fn click(app: &App, label: &str) -> Vec<Message> {
    let mut ui = iced_test::simulator(app.view());
    if let Err(e) = ui.click(label) {
        panic!("nothing to click showing {label:?}: {e}");
    }
    ui.into_messages().collect()
}

/// True when the window currently shows `label` somewhere.
pub fn shows(app: &App, label: &str) -> bool {
    iced_test::simulator(app.view()).find(label).is_ok()
}
