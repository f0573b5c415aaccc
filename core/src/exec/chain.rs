//! A chain of calls in order (a hook's or filter's plugins): one handoff for
//! the whole chain, each step with its own deadline and capacity.
//!
//! The chain runs on one pool thread, step after step. The caller follows
//! it; when a step is still running at its deadline, the caller abandons
//! it (counted stuck, as in [`Executor::run`]) and goes on from the next
//! step on a new thread, with the state as the last finished step left it.

use std::{
    sync::{
        atomic::{AtomicU8, Ordering},
        Arc,
    },
    time::Instant,
};

use tokio::sync::mpsc;

use super::{
    abandoned, deadline, Admission, CallPoint, ExecError, Executor, Finish, Lane, ABANDONED,
    RUNNING,
};

/// One step of a chain: a plugin's lane and entry point.
pub struct Step {
    /// The plugin's capacity.
    pub lane: Arc<Lane>,
    /// The entry point.
    pub point: Arc<CallPoint>,
    /// Whether it is journaled (a dynamic plugin).
    pub journaled: bool,
    /// Whether the chain ends when this step fails for want of capacity
    /// or time (a filter that fails closed).
    pub halt_on_failure: bool,
}

/// How one step ended.
#[derive(Debug)]
pub enum StepOutcome<R> {
    /// It returned `R`.
    Done(R),
    /// Its plugin's capacity was in use; it was not called.
    Busy(ExecError),
    /// It was still running at its deadline.
    Deadline(ExecError),
    /// No thread could run it.
    Lost(ExecError),
    /// It was not reached: an earlier step stopped the chain.
    NotReached,
}

enum Progress<S, R> {
    Started(usize, Instant),
    Busy(usize),
    Finished(usize, R, S),
}

/// What a chain's steps call: step index and the state, mutably.
pub type StepFn<S, R> = Arc<dyn Fn(usize, &mut S) -> R + Send + Sync>;

impl Executor {
    /// Runs `call(i, &mut state)` for each step in order; a step whose
    /// result `stop` accepts ends the chain. Returns the state as the last
    /// finished step left it, and each step's outcome.
    pub async fn chain<S, R>(
        &self,
        steps: Arc<[Step]>,
        state: S,
        call: StepFn<S, R>,
        stop: fn(&R) -> bool,
    ) -> (S, Vec<StepOutcome<R>>)
    where
        S: Clone + Send + 'static,
        R: Send + 'static,
    {
        let n = steps.len();
        let request = super::trace::request_id();
        let mut outcomes: Vec<StepOutcome<R>> = (0..n).map(|_| StepOutcome::NotReached).collect();
        let mut state = state;
        let mut from = 0;
        'chain: while from < n {
            let (tx, mut rx) = mpsc::unbounded_channel::<Progress<S, R>>();
            let states: Arc<[AtomicU8]> = (0..n).map(|_| AtomicU8::new(RUNNING)).collect();
            let job = {
                let (steps, states, call) =
                    (Arc::clone(&steps), Arc::clone(&states), Arc::clone(&call));
                let mut st = state.clone();
                let request = request.clone();
                Box::new(move |mut slot: Option<&mut super::journal::Slot>| {
                    for i in from..steps.len() {
                        let step = &steps[i];
                        if !step.lane.admit(Admission::Counted) {
                            step.point.busy.fetch_add(1, Ordering::Relaxed);
                            let _ = tx.send(Progress::Busy(i));
                            if step.halt_on_failure {
                                return;
                            }
                            continue;
                        }
                        let started = Instant::now();
                        let _ = tx.send(Progress::Started(i, started));
                        let finish = Finish {
                            state: &states[i],
                            lane: &step.lane,
                            point: &step.point,
                            started,
                        };
                        let result = {
                            let _span =
                                super::trace::span(&step.point, request.as_deref()).entered();
                            let _deadline = deadline::set(started + step.point.deadline);
                            match slot.as_deref_mut() {
                                Some(slot) if step.journaled => {
                                    let _entered = slot.enter(&step.point.slug, &step.point.label);
                                    call(i, &mut st)
                                }
                                _ => call(i, &mut st),
                            }
                        };
                        drop(finish);
                        if states[i].load(Ordering::Acquire) == ABANDONED {
                            return;
                        }
                        let end = stop(&result);
                        let _ = tx.send(Progress::Finished(i, result, st.clone()));
                        if end {
                            return;
                        }
                    }
                })
            };
            if let Err(e) = self.pool.submit(job) {
                for (outcome, step) in outcomes[from..].iter_mut().zip(&steps[from..]) {
                    *outcome = StepOutcome::Lost(ExecError::NoThread {
                        slug: step.point.slug.clone(),
                        reason: e.to_string(),
                    });
                }
                break;
            }
            let mut current: Option<(usize, Instant)> = None;
            loop {
                let message = match current {
                    None => rx.recv().await,
                    Some((i, started)) => {
                        let until = started + steps[i].point.deadline;
                        match tokio::time::timeout_at(until.into(), rx.recv()).await {
                            Ok(m) => m,
                            Err(_) => {
                                let step = &steps[i];
                                step.lane.stuck.fetch_add(1, Ordering::AcqRel);
                                if states[i]
                                    .compare_exchange(
                                        RUNNING,
                                        ABANDONED,
                                        Ordering::AcqRel,
                                        Ordering::Acquire,
                                    )
                                    .is_ok()
                                {
                                    outcomes[i] = StepOutcome::Deadline(abandoned(&step.point));
                                    if step.halt_on_failure {
                                        break 'chain;
                                    }
                                    from = i + 1;
                                    continue 'chain;
                                }
                                step.lane.stuck.fetch_sub(1, Ordering::AcqRel);
                                // It returned as the deadline passed: its
                                // message is on the way.
                                current = None;
                                continue;
                            }
                        }
                    }
                };
                match message {
                    None => break 'chain,
                    Some(Progress::Started(i, t)) => current = Some((i, t)),
                    Some(Progress::Busy(i)) => {
                        let step = &steps[i];
                        outcomes[i] = StepOutcome::Busy(ExecError::Busy {
                            slug: step.point.slug.clone(),
                            capacity: step.lane.capacity(),
                        });
                    }
                    Some(Progress::Finished(i, r, s)) => {
                        outcomes[i] = StepOutcome::Done(r);
                        state = s;
                        current = None;
                    }
                }
            }
        }
        (state, outcomes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::PointKind;
    use std::time::Duration;

    fn step(slug: &str, ms: u64) -> Step {
        Step {
            lane: Arc::new(Lane::new(4)),
            point: Arc::new(CallPoint::new(
                slug,
                PointKind::Filter,
                "f",
                Duration::from_millis(ms),
            )),
            journaled: false,
            halt_on_failure: false,
        }
    }

    #[tokio::test]
    async fn a_step_past_its_deadline_is_abandoned_and_the_chain_goes_on() {
        let exec = Executor::new(None);
        let steps: Arc<[Step]> = vec![step("a", 1000), step("slow", 100), step("c", 1000)].into();
        let call: StepFn<Vec<String>, ()> = Arc::new(|i, seen: &mut Vec<String>| {
            if i == 1 {
                std::thread::sleep(Duration::from_millis(600));
            }
            seen.push(format!("step {i}"));
        });
        let (seen, outcomes) = exec
            .chain(Arc::clone(&steps), Vec::new(), call, |_| false)
            .await;
        // The slow step's change is not kept; the others' are.
        assert_eq!(seen, vec!["step 0".to_string(), "step 2".to_string()]);
        assert!(matches!(outcomes[0], StepOutcome::Done(())));
        assert!(matches!(
            outcomes[1],
            StepOutcome::Deadline(ExecError::Deadline { .. })
        ));
        assert!(matches!(outcomes[2], StepOutcome::Done(())));
        assert_eq!(steps[1].point.stuck(), 1);
        assert_eq!(steps[1].lane.stuck_now(), 1);
        // When the slow call returns, its capacity comes back.
        std::thread::sleep(Duration::from_millis(700));
        assert_eq!((steps[1].lane.stuck_now(), steps[1].lane.in_use()), (0, 0));
    }

    #[tokio::test]
    async fn a_step_whose_result_stops_the_chain_ends_it() {
        let exec = Executor::new(None);
        let steps: Arc<[Step]> = vec![step("a", 1000), step("b", 1000), step("c", 1000)].into();
        let call: StepFn<u32, bool> = Arc::new(|i, n: &mut u32| {
            *n += 1;
            i == 1
        });
        let (n, outcomes) = exec.chain(steps, 0, call, |stop| *stop).await;
        assert_eq!(n, 2);
        assert!(matches!(outcomes[2], StepOutcome::NotReached));
    }
}
