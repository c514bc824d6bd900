//! Sealing one secret value for the Sealed Secrets controller (an RSA-4096 public-key power,
//! then AES-GCM): a render of the example's staging environment does it once per key, before
//! any component runs.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use wasmchart_services::SecretValue;
use wasmchart_services::kubeseal::{SealingCert, seal};

fn bench(c: &mut Criterion) {
    let pem = include_str!("../../examples/imprun/sealed-secrets-cert.pem");
    let cert = SealingCert::from_pem(pem, "the example's certificate").expect("certificate");
    let value = SecretValue::new(b"a-generated-password-of-32-chars".to_vec());
    c.bench_function("seal/one value, RSA-4096", |b| {
        b.iter(|| {
            seal(
                &cert,
                &[7; 32],
                "imprun-staging/imprun-mongodb",
                "password",
                black_box(&value),
            )
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
