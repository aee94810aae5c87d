//! The SIP edge: one task owns the [`SipEndpoint`], the UDP socket and the TCP connections, and
//! routes dialog events to the call tasks through channels.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use sb_metrics::Direction;
use sb_sip::message::frame_length;
use sb_sip::{
    DialogId, IncomingCall, OutgoingCall, Peer, QualifyId, Replaces, SipEndpoint, SipEvent,
    TransportKind,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, oneshot};

/// What a call task asks of the SIP layer.
#[derive(Debug)]
pub enum SipCommand {
    /// Send 180 Ringing.
    Ringing(DialogId),
    /// Answer with SDP.
    Answer(DialogId, String),
    /// Reject an unanswered call.
    Reject(DialogId, u16, String),
    /// Answer a re-INVITE.
    AnswerReinvite(DialogId, String),
    /// Reject a re-INVITE.
    RejectReinvite(DialogId, u16, String),
    /// Hang up (BYE, CANCEL or a final response, whatever the state needs).
    Hangup(DialogId),
    /// Report how a transfer asked for by REFER went (a NOTIFY with the status line).
    NotifyRefer(DialogId, u16, String),
    /// Probe a phone with OPTIONS; the probe's id comes back on the oneshot, its result as
    /// `SipEvent::Qualified` on the channel for events of no call.
    Qualify(Peer, String, oneshot::Sender<QualifyId>),
    /// The dialog a `Replaces` names (RFC 3891), if it is one of ours.
    FindDialog(Replaces, oneshot::Sender<Option<DialogId>>),
    /// Place a call; events for it go to the sender, its id comes back on the oneshot.
    Invite(
        Box<OutgoingCall>,
        mpsc::UnboundedSender<SipEvent>,
        oneshot::Sender<DialogId>,
    ),
}

/// A cheap handle to send commands to the SIP task.
#[derive(Clone, Debug)]
pub struct SipHandle {
    tx: mpsc::UnboundedSender<SipCommand>,
}

impl SipHandle {
    /// Sends a command; a closed SIP task means shutdown, so errors are ignored.
    pub fn send(&self, command: SipCommand) {
        let _ = self.tx.send(command);
    }

    /// The dialog `replaces` names, if it is one of ours.
    pub async fn find_dialog(&self, replaces: Replaces) -> Option<DialogId> {
        let (tx, rx) = oneshot::channel();
        self.send(SipCommand::FindDialog(replaces, tx));
        rx.await.ok().flatten()
    }

    /// Places a call and returns its dialog and event stream.
    pub async fn invite(
        &self,
        call: OutgoingCall,
    ) -> Option<(DialogId, mpsc::UnboundedReceiver<SipEvent>)> {
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (id_tx, id_rx) = oneshot::channel();
        self.send(SipCommand::Invite(Box::new(call), events_tx, id_tx));
        Some((id_rx.await.ok()?, events_rx))
    }
}

/// Called for every new inbound call with its event stream.
pub type CallSpawner = Box<dyn FnMut(IncomingCall, mpsc::UnboundedReceiver<SipEvent>) + Send>;

enum Input {
    Datagram(Peer, Vec<u8>),
    Connected(SocketAddr, mpsc::UnboundedSender<Vec<u8>>),
    Disconnected(SocketAddr),
}

/// Sockets the SIP task serves.
pub struct SipSockets {
    /// UDP socket (always).
    pub udp: UdpSocket,
    /// TCP listener (optional).
    pub tcp: Option<TcpListener>,
}

/// Starts the SIP task; returns the handle for commands. Events of no call (registrations,
/// OPTIONS probe results) go to `unrouted`.
pub fn spawn_sip(
    endpoint: SipEndpoint,
    sockets: SipSockets,
    spawner: CallSpawner,
    unrouted: mpsc::UnboundedSender<SipEvent>,
) -> SipHandle {
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let (in_tx, in_rx) = mpsc::unbounded_channel();
    if let Some(listener) = sockets.tcp {
        tokio::spawn(accept_loop(listener, in_tx.clone()));
    }
    let udp = Arc::new(sockets.udp);
    tokio::spawn(udp_reader(udp.clone(), in_tx));
    tokio::spawn(
        SipTask {
            endpoint,
            udp,
            tcp: HashMap::new(),
            calls: HashMap::new(),
            spawner,
            unrouted,
        }
        .run(cmd_rx, in_rx),
    );
    SipHandle { tx: cmd_tx }
}

async fn udp_reader(udp: Arc<UdpSocket>, tx: mpsc::UnboundedSender<Input>) {
    let mut buf = vec![0u8; 65_536];
    loop {
        match udp.recv_from(&mut buf).await {
            Ok((n, addr)) => {
                let peer = Peer {
                    transport: TransportKind::Udp,
                    addr,
                };
                if tx.send(Input::Datagram(peer, buf[..n].to_vec())).is_err() {
                    return;
                }
            }
            // ICMP port unreachable surfaces here on Linux; it is not fatal.
            Err(e) => tracing::debug!(error = %e, "UDP receive error"),
        }
    }
}

async fn accept_loop(listener: TcpListener, tx: mpsc::UnboundedSender<Input>) {
    loop {
        match listener.accept().await {
            Ok((stream, addr)) => {
                tokio::spawn(tcp_connection(stream, addr, tx.clone()));
            }
            Err(e) => {
                tracing::warn!(error = %e, "TCP accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

async fn tcp_connection(stream: TcpStream, addr: SocketAddr, tx: mpsc::UnboundedSender<Input>) {
    let (mut reader, mut writer) = stream.into_split();
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Vec<u8>>();
    if tx.send(Input::Connected(addr, out_tx)).is_err() {
        return;
    }
    let write = tokio::spawn(async move {
        while let Some(data) = out_rx.recv().await {
            if writer.write_all(&data).await.is_err() {
                break;
            }
        }
    });
    let peer = Peer {
        transport: TransportKind::Tcp,
        addr,
    };
    let mut buf = Vec::with_capacity(8192);
    let mut chunk = vec![0u8; 8192];
    'read: loop {
        let n = match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        loop {
            match frame_length(&buf) {
                Ok(Some(len)) => {
                    let frame: Vec<u8> = buf.drain(..len).collect();
                    if frame.iter().all(|&b| b == b'\r' || b == b'\n') {
                        continue;
                    }
                    if tx.send(Input::Datagram(peer, frame)).is_err() {
                        break 'read;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::info!(%addr, reason = %e, "closing TCP connection: unframeable SIP");
                    break 'read;
                }
            }
        }
    }
    let _ = tx.send(Input::Disconnected(addr));
    write.abort();
}

struct SipTask {
    endpoint: SipEndpoint,
    udp: Arc<UdpSocket>,
    tcp: HashMap<SocketAddr, mpsc::UnboundedSender<Vec<u8>>>,
    calls: HashMap<DialogId, mpsc::UnboundedSender<SipEvent>>,
    spawner: CallSpawner,
    unrouted: mpsc::UnboundedSender<SipEvent>,
}

impl SipTask {
    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<SipCommand>,
        mut inputs: mpsc::UnboundedReceiver<Input>,
    ) {
        loop {
            let deadline = self.endpoint.poll_timeout();
            tokio::select! {
                input = inputs.recv() => match input {
                    Some(Input::Datagram(peer, data)) => {
                        sb_metrics::sip_message(Direction::Received, &data);
                        self.endpoint.handle_receive(Instant::now(), peer, &data);
                    }
                    Some(Input::Connected(addr, tx)) => { self.tcp.insert(addr, tx); }
                    Some(Input::Disconnected(addr)) => { self.tcp.remove(&addr); }
                    None => return,
                },
                command = commands.recv() => match command {
                    Some(c) => self.command(c),
                    None => return,
                },
                _ = sleep_until(deadline) => self.endpoint.handle_timeout(Instant::now()),
            }
            self.flush().await;
        }
    }

    fn command(&mut self, command: SipCommand) {
        let now = Instant::now();
        let ep = &mut self.endpoint;
        match command {
            SipCommand::Ringing(id) => ep.ringing(now, id),
            SipCommand::Answer(id, sdp) => ep.answer(now, id, sdp),
            SipCommand::Reject(id, code, reason) => ep.reject(now, id, code, &reason),
            SipCommand::AnswerReinvite(id, sdp) => ep.answer_reinvite(now, id, sdp),
            SipCommand::RejectReinvite(id, code, reason) => {
                ep.reject_reinvite(now, id, code, &reason)
            }
            SipCommand::Hangup(id) => ep.hangup(now, id),
            SipCommand::NotifyRefer(id, code, reason) => ep.notify_refer(now, id, code, &reason),
            SipCommand::Qualify(peer, uri, reply) => {
                let _ = reply.send(ep.qualify(now, peer, &uri));
            }
            SipCommand::FindDialog(replaces, reply) => {
                let _ = reply.send(ep.dialog_for(&replaces));
            }
            SipCommand::Invite(call, events, reply) => {
                let id = ep.invite(now, *call);
                self.calls.insert(id, events);
                let _ = reply.send(id);
            }
        }
    }

    async fn flush(&mut self) {
        while let Some(t) = self.endpoint.poll_transmit() {
            sb_metrics::sip_message(Direction::Sent, &t.data);
            match t.to.transport {
                TransportKind::Udp => {
                    if let Err(e) = self.udp.send_to(&t.data, t.to.addr).await {
                        tracing::debug!(to = %t.to.addr, error = %e, "UDP send failed");
                    }
                }
                TransportKind::Tcp => match self.tcp.get(&t.to.addr) {
                    Some(conn) => {
                        let _ = conn.send(t.data);
                    }
                    None => tracing::info!(to = %t.to.addr, "TCP connection gone; message dropped"),
                },
            }
        }
        while let Some(event) = self.endpoint.poll_event() {
            match event {
                SipEvent::IncomingCall(call) => {
                    let (tx, rx) = mpsc::unbounded_channel();
                    self.calls.insert(call.dialog, tx);
                    (self.spawner)(call, rx);
                }
                other => {
                    let Some(id) = dialog_of(&other) else {
                        let _ = self.unrouted.send(other);
                        continue;
                    };
                    let ended = matches!(other, SipEvent::Ended { .. });
                    if let Some(tx) = self.calls.get(&id) {
                        let _ = tx.send(other);
                    }
                    if ended {
                        self.calls.remove(&id);
                    }
                }
            }
        }
    }
}

fn dialog_of(event: &SipEvent) -> Option<DialogId> {
    match event {
        SipEvent::IncomingCall(c) => Some(c.dialog),
        SipEvent::Established { dialog, .. }
        | SipEvent::ReInvite { dialog, .. }
        | SipEvent::InfoDtmf { dialog, .. }
        | SipEvent::Progress { dialog, .. }
        | SipEvent::Answered { dialog, .. }
        | SipEvent::Refer { dialog, .. }
        | SipEvent::Ended { dialog, .. } => Some(*dialog),
        SipEvent::Registration { .. } | SipEvent::Qualified { .. } => None,
    }
}

/// Sleeps until `deadline`, or forever when there is none.
pub async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}
