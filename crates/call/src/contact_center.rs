//! The contact center's task: it owns the routing core (`sb_center::Acd`) and the agents'
//! registered phones, and talks with the call tasks through channels: a call asks to be
//! queued, the center tells it which agent's phone to ring, when to stop ringing, where it
//! stands in line, and when the queue gives up. Registrations from the SIP task sign agents
//! in and out; OPTIONS probes find phones that stopped answering. The agent desk (REST API)
//! reads agents and queues and sets agents available or away through the same handle.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sb_center::{Acd, AcdOutput, CenterConfig, OverflowTarget, Priority, RejectReason};
use sb_sip::{Binding, QualifyId, SipEvent};
use tokio::sync::{mpsc, oneshot};

use crate::agent_desk::{AgentView, DeskError, Presence, QueueView};
use crate::agent_leg::AgentContact;
use crate::sip_server::{SipCommand, SipHandle, sleep_until};

/// How often registered agent phones are probed with OPTIONS.
const QUALIFY_EVERY: Duration = Duration::from_secs(30);

/// What the center tells a queued call.
#[derive(Debug, Clone, PartialEq)]
pub enum CenterEvent {
    /// Ring this agent's phone.
    Ring(AgentContact),
    /// Stop ringing this agent (no answer in time).
    CancelRing {
        /// The agent.
        agent: String,
    },
    /// The caller's place in line, for an announcement.
    Waiting {
        /// 1 = next.
        position: usize,
        /// How long the caller will likely wait still.
        estimated_wait: Duration,
    },
    /// The caller waits on in another queue (the first one's overflow).
    Moved {
        /// The queue now.
        queue: String,
    },
    /// The queue gives up on the caller: the dialplan's overflow path.
    Overflow {
        /// Why, for the timeline (`max_wait`, …).
        reason: String,
        /// The dialplan node the queue's configuration sends the caller to, if any.
        node: Option<String>,
        /// The queue's overflow is "leave a callback number".
        callback: bool,
    },
}

/// Why an agent did not take a call they were rung for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotAnswered {
    /// The phone said busy or declined.
    Declined,
    /// The phone could not be reached (no response, error).
    Unreachable,
}

/// What a call tells the center.
#[derive(Debug)]
enum CenterCommand {
    Enqueue {
        call: String,
        queue: String,
        priority: String,
        events: mpsc::UnboundedSender<CenterEvent>,
    },
    Answered {
        call: String,
        agent: String,
    },
    NotAnswered {
        call: String,
        agent: String,
        why: NotAnswered,
    },
    /// The call left: abandoned while waiting or ringing, or the talk is over.
    Left {
        call: String,
    },
    Talking {
        agent: String,
        talk: String,
    },
    /// The agent transferred the call to a queue.
    Transfer {
        call: String,
        queue: String,
    },
    /// Where an agent's phone is, for a transfer straight to them.
    Contact {
        agent: String,
        reply: oneshot::Sender<Option<AgentContact>>,
    },
    /// Every agent, for the desk.
    Agents {
        reply: oneshot::Sender<Vec<AgentView>>,
    },
    /// Every queue, for the desk.
    Queues {
        reply: oneshot::Sender<Vec<QueueView>>,
    },
    /// The desk sets an agent available or away; `by` is who asked, for the log.
    SetPresence {
        agent: String,
        presence: Presence,
        by: String,
        reply: oneshot::Sender<Result<AgentView, DeskError>>,
    },
}

/// A cheap handle on the center's task.
#[derive(Debug, Clone)]
pub struct CenterHandle {
    tx: mpsc::UnboundedSender<CenterCommand>,
    /// Each queue's music on hold.
    music: Arc<HashMap<String, PathBuf>>,
    /// The queues' names.
    queues: Arc<HashSet<String>>,
    /// The agents' ids.
    agents: Arc<HashSet<String>>,
}

impl CenterHandle {
    /// The music on hold of `queue`, if it has one.
    pub fn music(&self, queue: &str) -> Option<PathBuf> {
        self.music.get(queue).cloned()
    }

    /// Puts `call` in line in `queue`; the center's decisions for it come on `events`.
    pub fn enqueue(
        &self,
        call: &str,
        queue: &str,
        priority: &str,
        events: mpsc::UnboundedSender<CenterEvent>,
    ) {
        self.send(CenterCommand::Enqueue {
            call: call.to_string(),
            queue: queue.to_string(),
            priority: priority.to_string(),
            events,
        });
    }

    /// The agent rung for `call` answered.
    pub fn answered(&self, call: &str, agent: &str) {
        self.send(CenterCommand::Answered {
            call: call.to_string(),
            agent: agent.to_string(),
        });
    }

    /// The agent rung for `call` did not take it.
    pub fn not_answered(&self, call: &str, agent: &str, why: NotAnswered) {
        self.send(CenterCommand::NotAnswered {
            call: call.to_string(),
            agent: agent.to_string(),
            why,
        });
    }

    /// The agent talking with `call` transferred it to `queue`: the agent wraps up and the call
    /// waits there (its events keep coming on the channel it was queued with).
    pub fn transfer(&self, call: &str, queue: &str) {
        self.send(CenterCommand::Transfer {
            call: call.to_string(),
            queue: queue.to_string(),
        });
    }

    /// Whether `name` is a configured queue.
    pub fn has_queue(&self, name: &str) -> bool {
        self.music.contains_key(name) || self.queues.contains(name)
    }

    /// Whether `id` is a configured agent.
    pub fn is_agent(&self, id: &str) -> bool {
        self.agents.contains(id)
    }

    /// The phone to ring for agent `agent` (None: no such agent, or not signed in).
    pub async fn contact(&self, agent: &str) -> Option<AgentContact> {
        let (reply, answer) = oneshot::channel();
        self.send(CenterCommand::Contact {
            agent: agent.to_string(),
            reply,
        });
        answer.await.ok().flatten()
    }

    /// Every agent as it is now, in config order.
    pub async fn agents(&self) -> Result<Vec<AgentView>, DeskError> {
        let (reply, answer) = oneshot::channel();
        self.send(CenterCommand::Agents { reply });
        answer.await.map_err(|_| DeskError::Stopped)
    }

    /// Every queue as it is now, in config order.
    pub async fn queues(&self) -> Result<Vec<QueueView>, DeskError> {
        let (reply, answer) = oneshot::channel();
        self.send(CenterCommand::Queues { reply });
        answer.await.map_err(|_| DeskError::Stopped)
    }

    /// Sets `agent` available or away (see `Acd::set_agent_state`: away during a call takes
    /// effect when it ends); `by` names who asked, for the log. Returns the agent afterwards.
    pub async fn set_presence(
        &self,
        agent: &str,
        presence: Presence,
        by: &str,
    ) -> Result<AgentView, DeskError> {
        let (reply, answer) = oneshot::channel();
        self.send(CenterCommand::SetPresence {
            agent: agent.to_string(),
            presence,
            by: by.to_string(),
            reply,
        });
        answer.await.unwrap_or(Err(DeskError::Stopped))
    }

    /// Whether the center's task still runs.
    pub fn is_running(&self) -> bool {
        !self.tx.is_closed()
    }

    /// Agent `agent` talks on `talk`, a call the center did not route to them (a transfer to
    /// their id, a colleague consulting them): they are offered no queued call until
    /// [`left`](Self::left) for `talk`.
    pub fn talking(&self, agent: &str, talk: &str) {
        self.send(CenterCommand::Talking {
            agent: agent.to_string(),
            talk: talk.to_string(),
        });
    }

    /// `call` left the center: hung up while waiting or ringing, or its talk is over (also a
    /// talk reported by [`talking`](Self::talking)).
    pub fn left(&self, call: &str) {
        self.send(CenterCommand::Left {
            call: call.to_string(),
        });
    }

    fn send(&self, command: CenterCommand) {
        // A closed center means shutdown: the call ends anyway.
        let _ = self.tx.send(command);
    }
}

/// Starts the contact center's task for `config` (already validated); `sip` rings and probes
/// phones, `registrations` brings the SIP task's registration and qualify events. `music_dir`
/// resolves the queues' relative music paths.
pub fn spawn_center(
    config: &CenterConfig,
    sip: SipHandle,
    registrations: mpsc::UnboundedReceiver<SipEvent>,
    domain: String,
    music_dir: &std::path::Path,
) -> Result<CenterHandle, String> {
    let acd = Acd::new(config).map_err(|e| e.to_string())?;
    let music = config
        .queues
        .iter()
        .filter_map(|q| Some((q.name.clone(), music_dir.join(q.music.as_ref()?))))
        .collect();
    let (tx, rx) = mpsc::unbounded_channel();
    let center = Center {
        acd,
        agents: config.agents.iter().map(|a| a.id.clone()).collect(),
        calls: HashMap::new(),
        waits: HashMap::new(),
        direct: HashMap::new(),
        phones: HashMap::new(),
        probes: HashMap::new(),
        sip,
        domain,
    };
    tokio::spawn(center.run(rx, registrations));
    Ok(CenterHandle {
        tx,
        music: Arc::new(music),
        queues: Arc::new(config.queues.iter().map(|q| q.name.clone()).collect()),
        agents: Arc::new(config.agents.iter().map(|a| a.id.clone()).collect()),
    })
}

/// The center's task state.
struct Center {
    acd: Acd,
    agents: HashSet<String>,
    /// The event channel of each call the center knows.
    calls: HashMap<String, mpsc::UnboundedSender<CenterEvent>>,
    /// The queue each waiting call waits in and since when (for the wait metrics).
    waits: HashMap<String, (String, Instant)>,
    /// Talks the center did not route (transfers to an agent's id, consultations): the agent
    /// on each, freed when the talk leaves.
    direct: HashMap<String, String>,
    /// Each signed-in agent's registered phones.
    phones: HashMap<String, Vec<Binding>>,
    /// OPTIONS probes in flight, by the agent probed.
    probes: HashMap<QualifyId, String>,
    sip: SipHandle,
    /// The host part of agents' addresses of record.
    domain: String,
}

impl Center {
    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<CenterCommand>,
        mut registrations: mpsc::UnboundedReceiver<SipEvent>,
    ) {
        let mut qualify = tokio::time::interval(QUALIFY_EVERY);
        loop {
            let deadline = self.acd.poll_timeout();
            tokio::select! {
                command = commands.recv() => match command {
                    Some(command) => self.command(command, Instant::now()),
                    None => return,
                },
                event = registrations.recv() => match event {
                    Some(event) => self.sip_event(event, Instant::now()),
                    None => return,
                },
                _ = qualify.tick() => self.qualify().await,
                _ = sleep_until(deadline) => self.acd.handle_timeout(Instant::now()),
            }
            self.decisions(Instant::now());
            self.report_waiting();
        }
    }

    fn command(&mut self, command: CenterCommand, now: Instant) {
        let result = match command {
            CenterCommand::Enqueue {
                call,
                queue,
                priority,
                events,
            } => {
                let priority = priority.parse::<Priority>().unwrap_or_default();
                let result = self.acd.call_arrived(call.as_str(), &queue, priority, now);
                if result.is_ok() {
                    self.waits.insert(call.clone(), (queue, now));
                    self.calls.insert(call, events);
                } else {
                    let reason = "the queue is not configured".to_string();
                    let _ = events.send(CenterEvent::Overflow {
                        reason,
                        node: None,
                        callback: false,
                    });
                }
                result
            }
            CenterCommand::Answered { call, agent } => {
                self.wait_ended(&call, "answered", now);
                self.acd.agent_answered(&call, &agent, now)
            }
            CenterCommand::NotAnswered { call, agent, why } => {
                let reason = match why {
                    NotAnswered::Declined => RejectReason::Declined,
                    NotAnswered::Unreachable => RejectReason::Unreachable,
                };
                self.acd.agent_rejected(&call, &agent, reason, now)
            }
            CenterCommand::Talking { agent, talk } => {
                let result = self.acd.agent_talking(&agent, &talk, now);
                if result.is_ok() {
                    self.direct.insert(talk, agent);
                }
                result
            }
            CenterCommand::Left { call } => {
                self.wait_ended(&call, "abandoned", now);
                if let Some(agent) = self.direct.remove(&call) {
                    let _ = self.acd.agent_talk_ended(&agent, &call, now);
                }
                self.calls.remove(&call);
                self.acd.call_abandoned(&call, now)
            }
            CenterCommand::Transfer { call, queue } => {
                self.waits.insert(call.clone(), (queue.clone(), now));
                self.acd.call_transferred_to_queue(&call, &queue, now)
            }
            CenterCommand::Contact { agent, reply } => {
                let _ = reply.send(self.contact(&agent));
                Ok(())
            }
            CenterCommand::Agents { reply } => {
                let views = self
                    .acd
                    .agent_ids()
                    .filter_map(|id| self.agent_view(id.as_str(), now))
                    .collect();
                let _ = reply.send(views);
                Ok(())
            }
            CenterCommand::Queues { reply } => {
                let views = self
                    .acd
                    .queue_names()
                    .filter_map(|name| self.acd.queue_snapshot(name.as_str(), now))
                    .map(QueueView::of)
                    .collect();
                let _ = reply.send(views);
                Ok(())
            }
            CenterCommand::SetPresence {
                agent,
                presence,
                by,
                reply,
            } => {
                let _ = reply.send(self.set_presence(&agent, presence, &by, now));
                Ok(())
            }
        };
        if let Err(e) = result {
            // A call and the center disagreeing (a late answer after a timeout) is logged and
            // otherwise harmless: the core's state is the truth.
            tracing::debug!(error = %e, "contact center ignored a call's report");
        }
    }

    fn sip_event(&mut self, event: SipEvent, now: Instant) {
        match event {
            SipEvent::Registration { user, bindings } => {
                if !self.agents.contains(&user) {
                    tracing::info!(user, "registration of a user who is no agent");
                    return;
                }
                let was_in = self.phones.get(&user).is_some_and(|b| !b.is_empty());
                let signed_in = !bindings.is_empty();
                if bindings.is_empty() {
                    self.phones.remove(&user);
                } else {
                    self.phones.insert(user.clone(), bindings);
                }
                if was_in == signed_in {
                    return;
                }
                // Registering a phone is signing in; unregistering it, signing out.
                if signed_in {
                    tracing::info!(agent = %user, "agent signed in (phone registered)");
                } else {
                    tracing::info!(agent = %user, "agent signed out (phone unregistered or expired)");
                }
                let _ = self.acd.agent_reachable(&user, signed_in, now);
                let presence = if signed_in {
                    Presence::Available
                } else {
                    Presence::Away
                };
                let _ = self.acd.set_agent_state(&user, presence, now);
            }
            SipEvent::Qualified { id, reachable, .. } => {
                if let Some(agent) = self.probes.remove(&id)
                    && self.phones.contains_key(&agent)
                {
                    if !reachable {
                        tracing::warn!(agent, "agent phone does not answer OPTIONS: not routable");
                    }
                    let _ = self.acd.agent_reachable(&agent, reachable, now);
                }
            }
            _ => {}
        }
    }

    /// `agent` as the desk shows it, or `None` for an unknown agent.
    fn agent_view(&self, agent: &str, now: Instant) -> Option<AgentView> {
        let snapshot = self.acd.agent_snapshot(agent, now)?;
        Some(AgentView::of(
            snapshot,
            self.phones.contains_key(agent),
            now,
        ))
    }

    /// The desk asks for `agent` to be available or away.
    fn set_presence(
        &mut self,
        agent: &str,
        presence: Presence,
        by: &str,
        now: Instant,
    ) -> Result<AgentView, DeskError> {
        let unknown = || DeskError::UnknownAgent(agent.to_string());
        let before = self.agent_view(agent, now).ok_or_else(unknown)?;
        self.acd
            .set_agent_state(agent, presence, now)
            .map_err(|_| unknown())?;
        let after = self.agent_view(agent, now).ok_or_else(unknown)?;
        tracing::info!(
            agent = %agent,
            requested_by = %by,
            ?presence,
            from = ?before.state,
            to = ?after.state,
            away_after_call = after.away_after_call,
            "agent state set at the agent desk"
        );
        Ok(after)
    }

    /// Probes each signed-in agent's phone.
    async fn qualify(&mut self) {
        let targets: Vec<(String, Binding)> = self
            .phones
            .iter()
            .filter_map(|(agent, b)| Some((agent.clone(), b.first()?.clone())))
            .collect();
        for (agent, binding) in targets {
            let (tx, rx) = oneshot::channel();
            self.sip.send(SipCommand::Qualify(
                binding.source,
                binding.contact.clone(),
                tx,
            ));
            if let Ok(id) = rx.await {
                self.probes.insert(id, agent);
            }
        }
    }

    /// Passes the routing core's decisions on to the calls.
    fn decisions(&mut self, now: Instant) {
        while let Some(output) = self.acd.poll_output() {
            match output {
                AcdOutput::RingAgent { call, agent, queue } => match self.contact(agent.as_str()) {
                    Some(contact) => {
                        tracing::info!(
                            call = call.as_str(),
                            agent = agent.as_str(),
                            queue = queue.as_str(),
                            "ringing agent"
                        );
                        self.tell(call.as_str(), CenterEvent::Ring(contact));
                    }
                    None => {
                        let _ = self.acd.agent_rejected(
                            call.as_str(),
                            agent.as_str(),
                            RejectReason::Unreachable,
                            now,
                        );
                    }
                },
                AcdOutput::CancelRing { call, agent } => {
                    let agent = agent.as_str().to_string();
                    self.tell(call.as_str(), CenterEvent::CancelRing { agent });
                }
                AcdOutput::Announce {
                    call,
                    position,
                    estimated_wait,
                } => {
                    self.tell(
                        call.as_str(),
                        CenterEvent::Waiting {
                            position,
                            estimated_wait,
                        },
                    );
                }
                AcdOutput::Overflow { call, from, target } => {
                    self.wait_ended(call.as_str(), "overflow", now);
                    if let OverflowTarget::Queue(queue) = &target {
                        self.waits
                            .insert(call.as_str().to_string(), (queue.clone(), now));
                    }
                    let event = match target {
                        OverflowTarget::Queue(queue) => CenterEvent::Moved { queue },
                        OverflowTarget::Callback => CenterEvent::Overflow {
                            reason: format!("max wait in {}: callback", from.as_str()),
                            node: None,
                            callback: true,
                        },
                        OverflowTarget::Node(node) => CenterEvent::Overflow {
                            reason: format!("max wait in {}", from.as_str()),
                            node: Some(node),
                            callback: false,
                        },
                    };
                    let leaves = matches!(event, CenterEvent::Overflow { .. });
                    self.tell(call.as_str(), event);
                    if leaves {
                        self.calls.remove(call.as_str());
                    }
                }
            }
        }
    }

    /// Records how long `call` waited, if it was waiting.
    fn wait_ended(&mut self, call: &str, how: &'static str, now: Instant) {
        if let Some((queue, since)) = self.waits.remove(call) {
            sb_metrics::queue_wait(&queue, now.saturating_duration_since(since), how);
        }
    }

    /// Sets the callers-waiting gauge of every queue (a handful: cheap after each step).
    fn report_waiting(&self) {
        for name in self.acd.queue_names() {
            let waiting = self
                .waits
                .values()
                .filter(|(q, _)| q == name.as_str())
                .count();
            sb_metrics::queue_waiting(name.as_str(), waiting);
        }
    }

    /// Where `agent`'s phone is reached, if signed in.
    fn contact(&self, agent: &str) -> Option<AgentContact> {
        let binding = self.phones.get(agent).and_then(|b| best(b))?;
        Some(AgentContact {
            agent: agent.to_string(),
            uri: binding.contact.clone(),
            aor: format!("sip:{agent}@{}", self.domain),
            peer: binding.source,
        })
    }

    fn tell(&self, call: &str, event: CenterEvent) {
        if let Some(tx) = self.calls.get(call) {
            let _ = tx.send(event);
        }
    }
}

/// The phone to ring of an agent's registrations: the highest q, then the latest registered.
fn best(bindings: &[Binding]) -> Option<&Binding> {
    bindings.iter().max_by(|a, b| {
        let q = |b: &Binding| b.q.unwrap_or(1.0);
        q(a).total_cmp(&q(b)).then(a.expires_at.cmp(&b.expires_at))
    })
}
