//! Phantom bait: list a prefix, insert a new key into it, and write how
//! many keys were seen. Two concurrent ones only stay serializable if range
//! reads conflict with inserts into the range.

use engine::Error;

use super::{next, CoreRef, Ctx, Key, Running, Step};

/// Begin; list `item/`; insert a unique item and record the count; commit.
pub fn step<C: CoreRef + ?Sized>(ctx: &mut Ctx<'_, C>, t: &mut Running) -> Result<Step, Error> {
    match t.phase {
        0 => {
            t.begin(ctx.core.get());
            next(t)
        }
        1 => {
            t.amount = t.list(ctx.core.get(), "item/")? as i64;
            next(t)
        }
        _ => {
            let item = format!("item/{}", t.invoke);
            t.put(Key::from(item), t.invoke as i64);
            t.put(Key::from(format!("items-seen/{}", ctx.agent)), t.amount);
            Ok(Step::Done(t.commit(ctx.core.get_mut())))
        }
    }
}
