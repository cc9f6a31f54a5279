//! Ports of Go's own channel tests (go/test/chan/*.go) to hoare, one module per Go
//! file under tests/golang/, built as one test binary:
//! `cargo test -p hoare --test golang`.

mod golang {
    mod doubleselect;
    mod fifo;
    mod nonblock;
    mod powser1;
    mod select3;
    mod sieve1;
}
