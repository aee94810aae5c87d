//! The automatic call distributor: the sans-IO routing core.

use std::cmp::Reverse;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::agent::{Agent, AgentIndex, AgentState, Membership, Presence, RejectReason};
use crate::call::{Call, CallStage, WaitKey};
use crate::config::{CenterConfig, OverflowTarget};
use crate::error::{AcdError, ConfigErrors};
use crate::ids::{AgentId, CallId, QueueId};
use crate::priority::Priority;
use crate::queue::{Member, Queue, QueueIndex};
use crate::timers::{Timer, Timers};

/// What the gateway should do, taken with [`Acd::poll_output`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcdOutput {
    /// Ring the agent's phone for the call, which waits in `queue` (for the agent desk).
    RingAgent {
        /// The waiting call.
        call: CallId,
        /// The agent to ring.
        agent: AgentId,
        /// The queue the call comes from.
        queue: QueueId,
    },
    /// Stop ringing the agent for the call: ring timeout, caller gone, agent away or unreachable.
    CancelRing {
        /// The call.
        call: CallId,
        /// The agent whose phone rings.
        agent: AgentId,
    },
    /// Tell the waiting caller their place in line.
    Announce {
        /// The waiting call.
        call: CallId,
        /// 1 for the next call to be answered.
        position: usize,
        /// From the queue's recent answers (see the crate's estimate).
        estimated_wait: Duration,
    },
    /// The call waited its queue's max wait. A `Queue` target has already been joined; for
    /// the other targets the call has left the ACD and the gateway takes it from here.
    Overflow {
        /// The call.
        call: CallId,
        /// The queue it waited in.
        from: QueueId,
        /// Where it goes.
        target: OverflowTarget,
    },
}

/// The contact center's routing core: agents, queues and the calls in them.
///
/// Driven like str0m's `Rtc`: every input comes with `now`; decisions queue up for
/// [`poll_output`](Self::poll_output), and [`poll_timeout`](Self::poll_timeout) says when to call
/// [`handle_timeout`](Self::handle_timeout). After every input, no waiting call has a free agent
/// who could take it.
pub struct Acd {
    pub(crate) agents: Vec<Agent>,
    agent_by_id: HashMap<AgentId, AgentIndex>,
    pub(crate) queues: Vec<Queue>,
    queue_by_name: HashMap<QueueId, QueueIndex>,
    pub(crate) calls: HashMap<CallId, Call>,
    timers: Timers,
    outputs: VecDeque<AcdOutput>,
    /// Tie-breaker for calls that join at the same instant; never reused.
    next_seq: u64,
    /// Calls that joined a line since the last `settle`, to be offered to free agents.
    calls_to_place: Vec<CallId>,
    /// Agents that became free since the last `settle`, to be offered waiting calls.
    freed_agents: Vec<AgentIndex>,
}

impl Acd {
    /// Builds the ACD from checked config; every agent starts away and unreachable.
    pub fn new(config: &CenterConfig) -> Result<Self, ConfigErrors> {
        config.validate()?;
        let mut agents: Vec<Agent> = config.agents.iter().map(Agent::new).collect();
        let mut queues = Vec::with_capacity(config.queues.len());
        for (queue_index, queue_config) in config.queues.iter().enumerate() {
            let mut queue = Queue::new(queue_config);
            for (agent_index, agent) in agents.iter_mut().enumerate() {
                if let Some(level) = queue_config.level_of(&agent.skills) {
                    agent.queues.push(Membership {
                        queue: queue_index,
                        slot: queue.members.len(),
                    });
                    queue.members.push(Member {
                        agent: agent_index,
                        level,
                    });
                }
            }
            queues.push(queue);
        }
        Ok(Self {
            agent_by_id: agents
                .iter()
                .enumerate()
                .map(|(index, agent)| (agent.id.clone(), index))
                .collect(),
            queue_by_name: queues
                .iter()
                .enumerate()
                .map(|(index, queue)| (queue.id.clone(), index))
                .collect(),
            agents,
            queues,
            calls: HashMap::new(),
            timers: Timers::default(),
            outputs: VecDeque::new(),
            next_seq: 0,
            calls_to_place: Vec::new(),
            freed_agents: Vec::new(),
        })
    }

    /// The next decision for the gateway, oldest first.
    pub fn poll_output(&mut self) -> Option<AcdOutput> {
        self.outputs.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// Runs every deadline due at `now`: ring timeouts, max waits, announcements, wrap-up ends.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((at, timer)) = self.timers.pop_due(now) {
            match timer {
                Timer::RingTimeout(call) => self.ring_timed_out(&call, now),
                Timer::MaxWait(call) => self.max_wait_reached(&call, now),
                Timer::Announce(call) => self.announce(&call, at, now),
                Timer::WrapUpEnd(agent) => {
                    if matches!(self.agents[agent].state, AgentState::WrapUp(_)) {
                        self.make_available(agent);
                    }
                }
            }
            self.settle(now);
        }
    }

    /// A caller joins `queue` (the dialplan's queue step); rings a free agent at once if there is one.
    pub fn call_arrived(
        &mut self,
        call: impl Into<CallId>,
        queue: &str,
        priority: Priority,
        now: Instant,
    ) -> Result<(), AcdError> {
        let id = call.into();
        let queue = self.queue_index(queue)?;
        if self.calls.contains_key(&id) {
            return Err(AcdError::DuplicateCall(id));
        }
        let key = self.wait_key(priority, now);
        self.calls
            .insert(id.clone(), Call::new(id.clone(), queue, key, now));
        self.join_queue(&id, queue, key, now);
        self.settle(now);
        Ok(())
    }

    /// The agent picked up the call it was rung for.
    ///
    /// Fails with [`AcdError::NotRinging`] when the ring was already cancelled (the answer
    /// crossed a `CancelRing`): the gateway should hang up the agent's leg.
    pub fn agent_answered(
        &mut self,
        call: &str,
        agent: &str,
        now: Instant,
    ) -> Result<(), AcdError> {
        let agent_index = self.ringing_agent(call, agent)?;
        let Some(ringing) = self.calls.get_mut(call) else {
            return Err(AcdError::UnknownCall(call.to_string()));
        };
        ringing.cancel_timers(&mut self.timers);
        ringing.stage = CallStage::Connected { agent: agent_index };
        let waited = now.saturating_duration_since(ringing.entered_queue_at);
        self.queues[ringing.queue]
            .wait_estimate
            .record(waited, ringing.place_at_entry);
        let agent = &mut self.agents[agent_index];
        agent.state = AgentState::OnCall(ringing.id.clone());
        agent.calls_today += 1;
        Ok(())
    }

    /// The agent's phone did not take the call it was rung for; the call goes back to the head
    /// of its line and rings the next agent. No `CancelRing` follows: the ring is over.
    pub fn agent_rejected(
        &mut self,
        call: &str,
        agent: &str,
        reason: RejectReason,
        now: Instant,
    ) -> Result<(), AcdError> {
        let agent_index = self.ringing_agent(call, agent)?;
        let id = self.calls[call].id.clone();
        self.take_back_ring(id.as_str(), now);
        match reason {
            RejectReason::Busy | RejectReason::Declined => self.make_available(agent_index),
            RejectReason::Unreachable => {
                let agent = &mut self.agents[agent_index];
                agent.reachable = false;
                agent.state = AgentState::Available;
            }
        }
        self.settle(now);
        Ok(())
    }

    /// The caller hung up: while waiting it leaves the line, while ringing the ring is
    /// cancelled; once connected this is the end of the call ([`call_ended`](Self::call_ended)).
    pub fn call_abandoned(&mut self, call: &str, now: Instant) -> Result<(), AcdError> {
        let stage = self.call_stage(call)?;
        match stage {
            CallStage::Waiting => self.remove_call(call),
            CallStage::Ringing { agent, .. } => {
                self.push_cancel_ring(call, agent);
                self.remove_call(call);
                self.make_available(agent);
            }
            CallStage::Connected { .. } => return self.call_ended(call, now),
        }
        self.settle(now);
        Ok(())
    }

    /// The talk is over (either side hung up); the agent wraps up for its queue's wrap-up time.
    pub fn call_ended(&mut self, call: &str, now: Instant) -> Result<(), AcdError> {
        let CallStage::Connected { agent } = self.call_stage(call)? else {
            return Err(AcdError::NotConnected(call.to_string()));
        };
        let wrap_up = self.queues[self.calls[call].queue].wrap_up;
        self.remove_call(call);
        self.finish_call(agent, wrap_up, now);
        self.settle(now);
        Ok(())
    }

    /// Moves the call to another queue. A waiting or ringing call keeps its place by arrival
    /// time; a connected call (the agent transfers it) frees its agent, who wraps up, and
    /// joins the new line as of now.
    pub fn call_transferred_to_queue(
        &mut self,
        call: &str,
        queue: &str,
        now: Instant,
    ) -> Result<(), AcdError> {
        let to = self.queue_index(queue)?;
        let stage = self.call_stage(call)?;
        let moving = &self.calls[call];
        let (id, mut key, from) = (moving.id.clone(), moving.key, moving.queue);
        match stage {
            CallStage::Waiting => {}
            CallStage::Ringing { agent, .. } => {
                self.push_cancel_ring(call, agent);
                self.make_available(agent);
            }
            CallStage::Connected { agent } => {
                self.finish_call(agent, self.queues[from].wrap_up, now);
                key = self.wait_key(key.priority.0, now);
            }
        }
        self.join_queue(&id, to, key, now);
        self.settle(now);
        Ok(())
    }

    /// The agent asks for calls or for a break (agent desk). Going away while rung cancels
    /// the ring (the call rings the next agent); during a call it takes effect when the call
    /// ends; becoming available during wrap-up ends it early.
    pub fn set_agent_state(
        &mut self,
        agent: &str,
        presence: Presence,
        now: Instant,
    ) -> Result<(), AcdError> {
        let index = self.agent_index(agent)?;
        match (presence, self.agents[index].state.clone()) {
            (Presence::Available, AgentState::Away) => self.make_available(index),
            (Presence::Available, AgentState::WrapUp(until)) => {
                self.timers.cancel(until, Timer::WrapUpEnd(index));
                self.make_available(index);
            }
            (Presence::Available, AgentState::OnCall(_)) => {
                self.agents[index].away_after_call = false;
            }
            (Presence::Available, AgentState::Available | AgentState::Ringing(_)) => {}
            (Presence::Away, AgentState::Available) => self.agents[index].state = AgentState::Away,
            (Presence::Away, AgentState::Ringing(call)) => {
                self.push_cancel_ring(call.as_str(), index);
                self.take_back_ring(call.as_str(), now);
                self.agents[index].state = AgentState::Away;
            }
            (Presence::Away, AgentState::WrapUp(until)) => {
                self.timers.cancel(until, Timer::WrapUpEnd(index));
                self.agents[index].state = AgentState::Away;
            }
            (Presence::Away, AgentState::OnCall(_)) => self.agents[index].away_after_call = true,
            (Presence::Away, AgentState::Away) => {}
        }
        self.settle(now);
        Ok(())
    }

    /// The agent talks on a call the ACD did not route to them (a transfer to their id, a
    /// colleague consulting them): until [`agent_talk_ended`](Self::agent_talk_ended) with the
    /// same `talk` they are offered no queued call. A ring in progress for another call is
    /// cancelled (that call rings the next agent); an agent on a break stays away after it.
    pub fn agent_talking(&mut self, agent: &str, talk: &str, now: Instant) -> Result<(), AcdError> {
        let index = self.agent_index(agent)?;
        match self.agents[index].state.clone() {
            AgentState::Ringing(call) => {
                self.push_cancel_ring(call.as_str(), index);
                self.take_back_ring(call.as_str(), now);
            }
            AgentState::WrapUp(until) => self.timers.cancel(until, Timer::WrapUpEnd(index)),
            AgentState::Away => self.agents[index].away_after_call = true,
            AgentState::Available | AgentState::OnCall(_) => {}
        }
        let agent = &mut self.agents[index];
        agent.state = AgentState::OnCall(CallId::from(talk));
        agent.calls_today += 1;
        self.settle(now);
        Ok(())
    }

    /// The talk [`agent_talking`](Self::agent_talking) reported is over: the agent is offered
    /// calls again at once (no wrap-up: no queue owns the talk). A talk the agent is no longer
    /// on (a later call took over) changes nothing.
    pub fn agent_talk_ended(
        &mut self,
        agent: &str,
        talk: &str,
        now: Instant,
    ) -> Result<(), AcdError> {
        let index = self.agent_index(agent)?;
        if matches!(&self.agents[index].state, AgentState::OnCall(call) if call.as_str() == talk) {
            self.finish_call(index, Duration::ZERO, now);
            self.settle(now);
        }
        Ok(())
    }

    /// The agent's phone registered and answers OPTIONS (`true`), or stopped (`false`). An
    /// unreachable agent being rung has the ring cancelled; a connected call goes on.
    pub fn agent_reachable(
        &mut self,
        agent: &str,
        reachable: bool,
        now: Instant,
    ) -> Result<(), AcdError> {
        let index = self.agent_index(agent)?;
        if self.agents[index].reachable == reachable {
            return Ok(());
        }
        self.agents[index].reachable = reachable;
        match self.agents[index].state.clone() {
            AgentState::Available if reachable => self.freed_agents.push(index),
            AgentState::Ringing(call) if !reachable => {
                self.push_cancel_ring(call.as_str(), index);
                self.take_back_ring(call.as_str(), now);
                self.agents[index].state = AgentState::Available;
            }
            _ => {}
        }
        self.settle(now);
        Ok(())
    }

    /// Starts a new day for the `calls today` counters (the gateway calls it at midnight).
    pub fn start_new_day(&mut self) {
        for agent in &mut self.agents {
            agent.calls_today = 0;
        }
    }

    pub(crate) fn queue_index(&self, name: &str) -> Result<QueueIndex, AcdError> {
        self.queue_by_name
            .get(name)
            .copied()
            .ok_or_else(|| AcdError::UnknownQueue(name.to_string()))
    }

    pub(crate) fn agent_index(&self, id: &str) -> Result<AgentIndex, AcdError> {
        self.agent_by_id
            .get(id)
            .copied()
            .ok_or_else(|| AcdError::UnknownAgent(id.to_string()))
    }

    fn call_stage(&self, call: &str) -> Result<CallStage, AcdError> {
        self.calls
            .get(call)
            .map(|call| call.stage)
            .ok_or_else(|| AcdError::UnknownCall(call.to_string()))
    }

    /// The agent the call is ringing, checked to be `agent`.
    fn ringing_agent(&self, call: &str, agent: &str) -> Result<AgentIndex, AcdError> {
        let index = self.agent_index(agent)?;
        match self.call_stage(call)? {
            CallStage::Ringing { agent: ringing, .. } if ringing == index => Ok(index),
            _ => Err(AcdError::NotRinging {
                call: call.to_string(),
                agent: agent.to_string(),
            }),
        }
    }

    fn wait_key(&mut self, priority: Priority, since: Instant) -> WaitKey {
        self.next_seq += 1;
        WaitKey {
            priority: Reverse(priority),
            since,
            seq: self.next_seq,
        }
    }

    /// Puts the call in `queue`'s line at `key`, leaving wherever it was; its max wait and
    /// announcements start over from now.
    fn join_queue(&mut self, id: &CallId, queue_index: QueueIndex, key: WaitKey, now: Instant) {
        let Some(call) = self.calls.get_mut(id) else {
            return;
        };
        if call.stage == CallStage::Waiting {
            self.queues[call.queue].waiting.remove(&call.key);
        }
        call.cancel_timers(&mut self.timers);
        let queue = &mut self.queues[queue_index];
        call.queue = queue_index;
        call.key = key;
        call.stage = CallStage::Waiting;
        call.tried.clear();
        call.overflow_due = false;
        call.entered_queue_at = now;
        call.place_at_entry = queue.position_of(key);
        call.max_wait_at = queue.max_wait.map(|wait| now + wait);
        if let Some(at) = call.max_wait_at {
            self.timers.schedule(at, Timer::MaxWait(id.clone()));
        }
        call.next_announce_at = queue.announce_every.map(|every| now + every);
        if let Some(at) = call.next_announce_at {
            self.timers.schedule(at, Timer::Announce(id.clone()));
        }
        queue.waiting.insert(key, id.clone());
        self.calls_to_place.push(id.clone());
    }

    /// Matches new waiting calls and freed agents, so that no caller waits while an agent who
    /// could take the call is free.
    fn settle(&mut self, now: Instant) {
        let mut calls = std::mem::take(&mut self.calls_to_place);
        let mut agents = std::mem::take(&mut self.freed_agents);
        calls.sort_by_key(|id| self.calls.get(id).map(|call| call.key));
        // New calls first, to agents who have not had them; then each freed agent takes its
        // best call; last, a call whose only free agents already had it rings one of them
        // again rather than wait beside a free agent.
        for id in &calls {
            self.offer_call(id, false, now);
        }
        for &agent in &agents {
            self.offer_agent(agent, now);
        }
        for id in &calls {
            self.offer_call(id, true, now);
        }
        calls.clear();
        agents.clear();
        self.calls_to_place = calls;
        self.freed_agents = agents;
    }

    /// Rings the free agent the queue's strategy picks for a waiting call, among those who
    /// have not had it; with `again`, among all when none of those is free.
    fn offer_call(&mut self, id: &CallId, again: bool, now: Instant) {
        let Some(call) = self.calls.get_mut(id) else {
            return;
        };
        if call.stage != CallStage::Waiting {
            return;
        }
        let queue = &mut self.queues[call.queue];
        let pick = |allowed: &dyn Fn(AgentIndex) -> bool| {
            queue.strategy.pick(
                &queue.members,
                &self.agents,
                queue.round_robin_next,
                allowed,
            )
        };
        let mut slot = pick(&|agent| !call.tried.contains(&agent));
        if slot.is_none() && again && !call.tried.is_empty() {
            slot = pick(&|_| true);
            if slot.is_some() {
                // Everyone free has had it: a new round begins with this ring.
                call.tried.clear();
            }
        }
        let Some(slot) = slot else {
            return;
        };
        queue.round_robin_next = slot + 1;
        let agent = queue.members[slot].agent;
        self.ring(id, agent, now);
    }

    /// Gives a free agent the best waiting call among its queues (highest priority, then
    /// longest waiting), passing over calls it already failed to take. If those are all that
    /// wait, each is offered again by its queue's strategy among every free agent, this one
    /// included, until the agent is rung or nothing waits for it.
    fn offer_agent(&mut self, agent: AgentIndex, now: Instant) {
        while self.agents[agent].is_free() {
            let mut best_fresh: Option<(WaitKey, Membership)> = None;
            let mut best_any: Option<(WaitKey, Membership)> = None;
            for &membership in &self.agents[agent].queues {
                let mut line = self.queues[membership.queue].waiting.iter().peekable();
                if let Some(&(&head, _)) = line.peek()
                    && best_any.is_none_or(|(best, _)| head < best)
                {
                    best_any = Some((head, membership));
                }
                let fresh = line.find(|(_, id)| {
                    self.calls
                        .get(*id)
                        .is_some_and(|call| !call.tried.contains(&agent))
                });
                if let Some((&key, _)) = fresh
                    && best_fresh.is_none_or(|(best, _)| key < best)
                {
                    best_fresh = Some((key, membership));
                }
            }
            if let Some((key, membership)) = best_fresh {
                let queue = &mut self.queues[membership.queue];
                let Some(id) = queue.waiting.get(&key).cloned() else {
                    return;
                };
                queue.round_robin_next = membership.slot + 1;
                self.ring(&id, agent, now);
            } else if let Some((key, membership)) = best_any {
                let Some(id) = self.queues[membership.queue].waiting.get(&key).cloned() else {
                    return;
                };
                // Rings someone (this agent at least is free and may take it), so the loop ends.
                self.offer_call(&id, true, now);
            } else {
                return;
            }
        }
    }

    fn ring(&mut self, id: &CallId, agent_index: AgentIndex, now: Instant) {
        let Some(call) = self.calls.get_mut(id) else {
            return;
        };
        let queue = &mut self.queues[call.queue];
        queue.waiting.remove(&call.key);
        let until = now + queue.ring_timeout;
        call.stage = CallStage::Ringing {
            agent: agent_index,
            until,
        };
        call.tried.insert(agent_index);
        self.timers.schedule(until, Timer::RingTimeout(id.clone()));
        let agent = &mut self.agents[agent_index];
        agent.state = AgentState::Ringing(id.clone());
        self.outputs.push_back(AcdOutput::RingAgent {
            call: id.clone(),
            agent: agent.id.clone(),
            queue: queue.id.clone(),
        });
    }

    /// Takes a ringing call back from its agent (whose state the caller sets): the call goes
    /// back into its line, where its arrival time puts it at the head, or overflows if its
    /// wait ran out while it rang.
    fn take_back_ring(&mut self, id: &str, now: Instant) {
        let Some(call) = self.calls.get_mut(id) else {
            return;
        };
        let CallStage::Ringing { until, .. } = call.stage else {
            return;
        };
        self.timers
            .cancel(until, Timer::RingTimeout(call.id.clone()));
        call.stage = CallStage::Waiting;
        if call.overflow_due {
            let id = call.id.clone();
            self.overflow(&id, now);
        } else {
            self.queues[call.queue]
                .waiting
                .insert(call.key, call.id.clone());
            self.calls_to_place.push(call.id.clone());
        }
    }

    fn ring_timed_out(&mut self, id: &CallId, now: Instant) {
        let Ok(CallStage::Ringing { agent, .. }) = self.call_stage(id.as_str()) else {
            return;
        };
        self.push_cancel_ring(id.as_str(), agent);
        self.take_back_ring(id.as_str(), now);
        self.make_available(agent);
    }

    fn max_wait_reached(&mut self, id: &CallId, now: Instant) {
        let Some(call) = self.calls.get_mut(id) else {
            return;
        };
        call.max_wait_at = None;
        match call.stage {
            CallStage::Waiting => self.overflow(id, now),
            // The agent may still answer; overflow only if this ring fails.
            CallStage::Ringing { .. } => call.overflow_due = true,
            CallStage::Connected { .. } => {}
        }
    }

    /// Sends the waiting call on to its queue's overflow target.
    fn overflow(&mut self, id: &CallId, now: Instant) {
        let Some(call) = self.calls.get(id) else {
            return;
        };
        let (from, key) = (call.queue, call.key);
        let Some(target) = self.queues[from].overflow.clone() else {
            return;
        };
        self.outputs.push_back(AcdOutput::Overflow {
            call: id.clone(),
            from: self.queues[from].id.clone(),
            target: target.clone(),
        });
        match self.queue_index_of_target(&target) {
            Some(to) => self.join_queue(id, to, key, now),
            None => self.remove_call(id.as_str()),
        }
    }

    fn queue_index_of_target(&self, target: &OverflowTarget) -> Option<QueueIndex> {
        match target {
            OverflowTarget::Queue(name) => self.queue_by_name.get(name.as_str()).copied(),
            OverflowTarget::Callback | OverflowTarget::Node(_) => None,
        }
    }

    /// Tells a waiting caller their place; a ringing one is skipped this time.
    fn announce(&mut self, id: &CallId, at: Instant, now: Instant) {
        let Some(call) = self.calls.get_mut(id) else {
            return;
        };
        let queue = &self.queues[call.queue];
        let Some(every) = queue.announce_every else {
            return;
        };
        // Keep the rhythm of the schedule, unless the gateway woke so late that it has passed.
        let next = if at + every > now {
            at + every
        } else {
            now + every
        };
        call.next_announce_at = Some(next);
        self.timers.schedule(next, Timer::Announce(id.clone()));
        if call.stage == CallStage::Waiting {
            let position = queue.position_of(call.key);
            self.outputs.push_back(AcdOutput::Announce {
                call: id.clone(),
                position,
                estimated_wait: queue.wait_estimate.for_position(position),
            });
        }
    }

    /// Forgets the call: out of its line, its deadlines cancelled.
    fn remove_call(&mut self, id: &str) {
        let Some(mut call) = self.calls.remove(id) else {
            return;
        };
        if call.stage == CallStage::Waiting {
            self.queues[call.queue].waiting.remove(&call.key);
        }
        call.cancel_timers(&mut self.timers);
    }

    /// The agent's call is over: wrap-up, or away if the agent asked for it during the call.
    fn finish_call(&mut self, index: AgentIndex, wrap_up: Duration, now: Instant) {
        let agent = &mut self.agents[index];
        agent.last_call_ended_at = Some(now);
        if std::mem::take(&mut agent.away_after_call) {
            agent.state = AgentState::Away;
        } else if wrap_up.is_zero() {
            self.make_available(index);
        } else {
            let until = now + wrap_up;
            agent.state = AgentState::WrapUp(until);
            self.timers.schedule(until, Timer::WrapUpEnd(index));
        }
    }

    fn make_available(&mut self, index: AgentIndex) {
        let agent = &mut self.agents[index];
        agent.state = AgentState::Available;
        if agent.reachable {
            self.freed_agents.push(index);
        }
    }

    fn push_cancel_ring(&mut self, call: &str, agent: AgentIndex) {
        let Some(call) = self.calls.get(call) else {
            return;
        };
        self.outputs.push_back(AcdOutput::CancelRing {
            call: call.id.clone(),
            agent: self.agents[agent].id.clone(),
        });
    }
}
