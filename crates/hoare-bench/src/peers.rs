//! Uniform adapters over hoare and the peer channel crates, so every scenario is written once.
//!
//! Messages are `u64`. A failed send (all receivers gone) returns `false`; `recv` returns `None`
//! once the channel is closed (all senders dropped) and drained.

use std::future::Future;

/// A bounded channel used from OS threads through its blocking API.
pub trait SyncChan: 'static {
    /// Implementation name as reported (`hoare`, `crossbeam`, ...).
    const NAME: &'static str;
    /// Sending half.
    type Tx: Clone + Send + 'static;
    /// Receiving half.
    type Rx: Send + 'static;
    /// A channel with capacity `cap` (0 = rendezvous).
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx);
    /// Blocking send; `false` when the channel is closed.
    fn send(tx: &Self::Tx, v: u64) -> bool;
    /// Blocking receive; `None` when closed and drained.
    fn recv(rx: &Self::Rx) -> Option<u64>;
}

/// A bounded channel used from tokio tasks through its async API.
pub trait AsyncChan: 'static {
    /// Implementation name as reported (`hoare`, `tokio`, ...).
    const NAME: &'static str;
    /// Whether capacity 0 (rendezvous) is supported; if not, scenarios use 1 and say so.
    const ZERO_CAP: bool;
    /// Sending half.
    type Tx: Clone + Send + Sync + 'static;
    /// Receiving half.
    type Rx: Send + 'static;
    /// A channel with capacity `cap`.
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx);
    /// Async send; resolves to `false` when the channel is closed.
    fn send(tx: &Self::Tx, v: u64) -> impl Future<Output = bool> + Send + '_;
    /// Async receive; resolves to `None` when closed and drained.
    fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<u64>> + Send + '_;
}

/// `hoare::chan`, the library under test.
pub struct Hoare;

impl SyncChan for Hoare {
    const NAME: &'static str = "hoare";
    type Tx = hoare::chan::Sender<u64>;
    type Rx = hoare::chan::Receiver<u64>;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        hoare::chan::chan(cap)
    }
    fn send(tx: &Self::Tx, v: u64) -> bool {
        tx.send(v).is_ok()
    }
    fn recv(rx: &Self::Rx) -> Option<u64> {
        rx.recv()
    }
}

impl AsyncChan for Hoare {
    const NAME: &'static str = "hoare";
    const ZERO_CAP: bool = true;
    type Tx = hoare::chan::Sender<u64>;
    type Rx = hoare::chan::Receiver<u64>;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        hoare::chan::chan(cap)
    }
    async fn send(tx: &Self::Tx, v: u64) -> bool {
        tx.send_async(v).await.is_ok()
    }
    fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<u64>> + Send + '_ {
        rx.recv_async()
    }
}

/// `crossbeam-channel` (blocking only).
pub struct Crossbeam;

impl SyncChan for Crossbeam {
    const NAME: &'static str = "crossbeam";
    type Tx = crossbeam_channel::Sender<u64>;
    type Rx = crossbeam_channel::Receiver<u64>;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        crossbeam_channel::bounded(cap)
    }
    fn send(tx: &Self::Tx, v: u64) -> bool {
        tx.send(v).is_ok()
    }
    fn recv(rx: &Self::Rx) -> Option<u64> {
        rx.recv().ok()
    }
}

/// `std::sync::mpsc::sync_channel` (blocking only, single consumer).
pub struct Std;

impl SyncChan for Std {
    const NAME: &'static str = "std";
    type Tx = std::sync::mpsc::SyncSender<u64>;
    type Rx = std::sync::mpsc::Receiver<u64>;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        std::sync::mpsc::sync_channel(cap)
    }
    fn send(tx: &Self::Tx, v: u64) -> bool {
        tx.send(v).is_ok()
    }
    fn recv(rx: &Self::Rx) -> Option<u64> {
        rx.recv().ok()
    }
}

/// `flume`, blocking and async.
pub struct Flume;

impl SyncChan for Flume {
    const NAME: &'static str = "flume";
    type Tx = flume::Sender<u64>;
    type Rx = flume::Receiver<u64>;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        flume::bounded(cap)
    }
    fn send(tx: &Self::Tx, v: u64) -> bool {
        tx.send(v).is_ok()
    }
    fn recv(rx: &Self::Rx) -> Option<u64> {
        rx.recv().ok()
    }
}

impl AsyncChan for Flume {
    const NAME: &'static str = "flume";
    const ZERO_CAP: bool = true;
    type Tx = flume::Sender<u64>;
    type Rx = flume::Receiver<u64>;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        flume::bounded(cap)
    }
    async fn send(tx: &Self::Tx, v: u64) -> bool {
        tx.send_async(v).await.is_ok()
    }
    async fn recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.recv_async().await.ok()
    }
}

/// `kanal`: `bounded` for blocking, `bounded_async` for async.
pub struct Kanal;

impl SyncChan for Kanal {
    const NAME: &'static str = "kanal";
    type Tx = kanal::Sender<u64>;
    type Rx = kanal::Receiver<u64>;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        kanal::bounded(cap)
    }
    fn send(tx: &Self::Tx, v: u64) -> bool {
        tx.send(v).is_ok()
    }
    fn recv(rx: &Self::Rx) -> Option<u64> {
        rx.recv().ok()
    }
}

impl AsyncChan for Kanal {
    const NAME: &'static str = "kanal";
    const ZERO_CAP: bool = true;
    type Tx = kanal::AsyncSender<u64>;
    type Rx = kanal::AsyncReceiver<u64>;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        kanal::bounded_async(cap)
    }
    async fn send(tx: &Self::Tx, v: u64) -> bool {
        tx.send(v).await.is_ok()
    }
    async fn recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.recv().await.ok()
    }
}

/// `tokio::sync::mpsc` (async only, single consumer, no capacity 0).
pub struct Tokio;

impl AsyncChan for Tokio {
    const NAME: &'static str = "tokio";
    const ZERO_CAP: bool = false;
    type Tx = tokio::sync::mpsc::Sender<u64>;
    type Rx = tokio::sync::mpsc::Receiver<u64>;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        tokio::sync::mpsc::channel(cap)
    }
    async fn send(tx: &Self::Tx, v: u64) -> bool {
        tx.send(v).await.is_ok()
    }
    fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<u64>> + Send + '_ {
        rx.recv()
    }
}

/// `async-channel` (async only, no capacity 0).
pub struct AsyncChannel;

impl AsyncChan for AsyncChannel {
    const NAME: &'static str = "async-channel";
    const ZERO_CAP: bool = false;
    type Tx = async_channel::Sender<u64>;
    type Rx = async_channel::Receiver<u64>;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        async_channel::bounded(cap)
    }
    async fn send(tx: &Self::Tx, v: u64) -> bool {
        tx.send(v).await.is_ok()
    }
    async fn recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.recv().await.ok()
    }
}
