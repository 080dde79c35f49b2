//! A person in the loop: purposes that need someone at the device (place a finger, lift it, present a card) ask
//! the [`Operator`] and wait for the answer. `khil conformance run --operator` asks on the terminal; tests play
//! the operator through a simulator's console. A "could not do it", or no answer in time, makes the purpose
//! inconclusive: never a pass, never a device failure.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the operator said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Done,
    /// Could not do it (the words say why, when they were given).
    CouldNot(String),
    /// No answer within the time limit.
    NoAnswer,
}

/// Somebody who can act at the device.
pub trait Operator: Send + Sync {
    /// Asks for `action` (in words, an imperative: "place a finger on the sensor and keep it there") on behalf of
    /// `purpose`, and waits at most `limit` for the answer.
    fn ask<'a>(
        &'a self,
        purpose: &'a str,
        action: &'a str,
        limit: Duration,
    ) -> Pin<Box<dyn Future<Output = Answer> + Send + 'a>>;
}

/// The operator of one run, with what they were last asked to keep doing ("keep a finger on the sensor"): asking
/// for the same standing action again does not bother them, any other action ends it.
#[derive(Clone)]
pub struct Desk {
    operator: Arc<dyn Operator>,
    standing: Arc<Mutex<Option<String>>>,
    limit: Duration,
}

impl std::fmt::Debug for Desk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desk").field("limit", &self.limit).finish_non_exhaustive()
    }
}

impl Desk {
    /// `operator`, given `limit` to do each thing.
    pub fn new(operator: Arc<dyn Operator>, limit: Duration) -> Desk {
        Desk { operator, standing: Arc::new(Mutex::new(None)), limit }
    }

    /// Asks for `action`; `standing`: it stays done until another action is asked for.
    pub async fn ask(&self, purpose: &str, action: &str, standing: bool) -> Answer {
        {
            let mut current = self.standing.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if standing && current.as_deref() == Some(action) {
                return Answer::Done;
            }
            *current = None;
        }
        let answer = self.operator.ask(purpose, action, self.limit).await;
        if standing && answer == Answer::Done {
            *self.standing.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(action.to_owned());
        }
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers from a list and counts the questions.
    struct Scripted(Mutex<Vec<Answer>>, Mutex<Vec<String>>);

    impl Operator for Scripted {
        fn ask<'a>(
            &'a self,
            _: &'a str,
            action: &'a str,
            _: Duration,
        ) -> Pin<Box<dyn Future<Output = Answer> + Send + 'a>> {
            self.1.lock().unwrap().push(action.to_owned());
            let a = self.0.lock().unwrap().remove(0);
            Box::pin(async move { a })
        }
    }

    #[tokio::test]
    async fn a_standing_action_is_asked_for_once_until_another_comes() {
        let op = Arc::new(Scripted(Mutex::new(vec![Answer::Done, Answer::Done, Answer::Done]), Mutex::default()));
        let desk = Desk::new(op.clone(), Duration::from_secs(1));
        assert_eq!(desk.ask("A", "place", true).await, Answer::Done);
        assert_eq!(desk.ask("B", "place", true).await, Answer::Done);
        assert_eq!(desk.ask("C", "lift", true).await, Answer::Done);
        assert_eq!(desk.ask("D", "place", true).await, Answer::Done);
        assert_eq!(*op.1.lock().unwrap(), ["place", "lift", "place"]);
    }

    #[tokio::test]
    async fn a_refusal_is_not_remembered() {
        let op = Arc::new(Scripted(
            Mutex::new(vec![Answer::CouldNot("no finger".into()), Answer::NoAnswer]),
            Mutex::default(),
        ));
        let desk = Desk::new(op.clone(), Duration::from_secs(1));
        assert_eq!(desk.ask("A", "place", true).await, Answer::CouldNot("no finger".into()));
        assert_eq!(desk.ask("B", "place", true).await, Answer::NoAnswer);
        assert_eq!(op.1.lock().unwrap().len(), 2);
    }
}
