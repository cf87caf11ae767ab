//! Bank conservation (Jepsen's bank test): every committed read of all accounts sums to the
//! constant total and shows no negative balance.

use crate::history::{Function, OpValue, Scalar};
use crate::infer::Native;
use crate::txns::{Ctx, Status, TxnId};
use crate::Findings;

/// Checks the `read` ops of a bank-model history; the total is the meta line's, else the sum
/// of the first committed read.
pub(crate) fn check_bank_model(ctx: &Ctx<'_>, findings: &mut Findings) {
    let mut total = ctx
        .history
        .meta
        .as_ref()
        .and_then(|m| m.bank.as_ref())
        .map(|b| b.total);
    for (t, txn) in ctx.txns.iter().enumerate() {
        if txn.status != Status::Ok || txn.op.f != Function::Read {
            continue;
        }
        if let OpValue::Balances(balances) = &txn.op.value {
            let pairs = balances.iter().map(|(k, v)| (k.key_text().to_string(), v));
            check_balances(findings, ctx.name(t as TxnId), pairs, &mut total);
        }
    }
}

/// Checks every committed native transaction that read all the meta line's accounts.
pub(crate) fn check_native(ctx: &Ctx<'_>, native: &Native<'_>, findings: &mut Findings) {
    let Some(bank) = ctx.history.meta.as_ref().and_then(|m| m.bank.as_ref()) else {
        return;
    };
    let ids: Vec<Option<u32>> = bank
        .accounts
        .iter()
        .map(|a| {
            ctx.key_ids
                .get(a)
                .or_else(|| ctx.key_ids.get(&Scalar::Str(a.key_text())))
        })
        .collect();
    if ids.iter().any(Option::is_none) || native.max_reads < ids.len() {
        return;
    }
    let mut total = Some(bank.total);
    let mut values: Vec<Option<&Scalar>> = vec![None; ids.len()];
    for t in 0..ctx.txns.len() as TxnId {
        if ctx.txns[t as usize].status != Status::Ok {
            continue;
        }
        let reads = native.reads_of(t);
        if reads.len() < ids.len() {
            continue;
        }
        values.iter_mut().for_each(|v| *v = None);
        for read in reads {
            if let Some(i) = ids.iter().position(|id| *id == Some(read.key)) {
                values[i] = Some(read.value);
            }
        }
        if values.iter().all(Option::is_some) {
            let pairs = bank
                .accounts
                .iter()
                .zip(&values)
                .map(|(a, v)| (a.key_text().to_string(), v.unwrap_or(&Scalar::Null)));
            check_balances(findings, ctx.name(t), pairs, &mut total);
        }
    }
}

/// Checks one read of all balances against the total (setting it from the first read when
/// unknown) and for negative balances; an absent account counts as zero.
fn check_balances<'a>(
    findings: &mut Findings,
    name: u64,
    balances: impl Iterator<Item = (String, &'a Scalar)>,
    total: &mut Option<i64>,
) {
    let mut sum: i128 = 0;
    let mut shown = Vec::new();
    let mut bad = None;
    for (account, value) in balances {
        match value {
            Scalar::Int(v) => {
                sum += i128::from(*v);
                if *v < 0 {
                    findings.add(
                        "conservation",
                        "negative-value",
                        vec![name],
                        format!("T{name} read account {account} with negative balance {v}"),
                    );
                }
            }
            Scalar::Null => {}
            other => bad = Some(format!("account {account} holds {other}, not an integer")),
        }
        shown.push(format!("{account}={}", crate::anomalies::show(value)));
    }
    let expected = *total.get_or_insert(sum.clamp(i64::MIN.into(), i64::MAX.into()) as i64);
    if let Some(why) = bad {
        findings.add(
            "conservation",
            "wrong-total",
            vec![name],
            format!("T{name} read {}: {why}", shown.join(", ")),
        );
    } else if sum != i128::from(expected) {
        findings.add(
            "conservation",
            "wrong-total",
            vec![name],
            format!(
                "T{name} read {}, which sums to {sum}, not the total {expected}",
                shown.join(", ")
            ),
        );
    }
}
