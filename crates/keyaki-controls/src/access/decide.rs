//! The decision for one principal, one key and the compiled action: AWS's evaluation of a
//! same-account request to KMS, with the statements that make it.
//!
//! 1. An explicit `Deny` that applies — in the key policy, an identity policy, the
//!    permissions boundary, an SCP or an RCP — refuses the request. A `Deny` whose
//!    conditions keyaki cannot decide makes the access conditional (listed with it).
//! 2. Every level of SCPs must have an `Allow` that applies. RCPs only take away: AWS
//!    attaches `RCPFullAWSAccess` to every level and an RCP may only hold `Deny` statements,
//!    so an RCP level without an `Allow` blocks nothing.
//! 3. One of, preferring a path without conditions:
//!    - the key policy allows the principal directly (its ARN, its unique id, or `*`);
//!      with a permissions boundary, the boundary must allow too, except for a user named
//!      by its ARN and for `*` (IAM: a resource policy naming a user or a session is not
//!      limited by the boundary; one naming a role is);
//!    - the key policy allows the account (`root` or the account id: it delegates to IAM),
//!      an identity policy allows, and the boundary, when there is one, allows;
//!    - a grant names the principal as grantee for the action's operation (grants are not
//!      limited by the boundary; its encryption-context constraints are its conditions).

use keyaki_policy::ConditionEntry;

use super::account::{Compiled, KStmt, KeyData, Kind, Named, PrincipalData, Stmt};
use super::conditions::{self, Caller, Outcome};

/// A condition a path depends on: the step of its statement, whether it is an `Allow`
/// (the test must hold) or a `Deny` (it must not), and the undecided tests.
pub(crate) type Cond = (u32, bool, Vec<ConditionEntry>);

#[derive(Debug, Clone, Default)]
pub(crate) struct Found {
    pub path: Vec<u32>,
    pub conds: Vec<Cond>,
}

enum Applies {
    No,
    Yes,
    If(Vec<ConditionEntry>),
}

fn pseudo(operator: &str, key: &str, values: Vec<String>) -> ConditionEntry {
    ConditionEntry {
        operator: operator.to_owned(),
        key: key.to_owned(),
        values,
    }
}

/// The first choice without conditions, else the first one.
fn best(choices: impl Iterator<Item = Found>) -> Option<Found> {
    let mut first = None;
    for c in choices {
        if c.conds.is_empty() {
            return Some(c);
        }
        first.get_or_insert(c);
    }
    first
}

impl Compiled {
    fn stmt(&self, s: &Stmt, caller: &Caller<'_>, key: u32) -> Applies {
        let mut extra = Vec::new();
        if !self.keys.matches(&s.res, key) {
            if s.res.variable && !s.res.negated {
                extra.push(pseudo("PolicyVariable", "Resource", Vec::new()));
            } else {
                return Applies::No;
            }
        }
        let mut cond = if s.per_caller {
            match conditions::block(&s.cond, caller) {
                Outcome::True => Vec::new(),
                Outcome::False => return Applies::No,
                Outcome::Depends(e) => e,
            }
        } else {
            s.cond.clone()
        };
        cond.extend(extra);
        if cond.is_empty() {
            Applies::Yes
        } else {
            Applies::If(cond)
        }
    }

    fn kstmt(
        &self,
        s: &KStmt,
        p: &PrincipalData,
        caller: &Caller<'_>,
        key: u32,
    ) -> (Named, Applies) {
        let named = s.names.name(p);
        if named == Named::No {
            return (named, Applies::No);
        }
        if let Some(res) = &s.res {
            if !self.keys.matches(res, key) {
                return (named, Applies::No);
            }
        }
        let mut cond = match conditions::block(&s.cond, caller) {
            Outcome::True => Vec::new(),
            Outcome::False => return (named, Applies::No),
            Outcome::Depends(e) => e,
        };
        if named == Named::NotExcluded {
            cond.push(pseudo(
                "NotPrincipal",
                "aws:PrincipalArn",
                s.names.arns.clone(),
            ));
        }
        (
            named,
            if cond.is_empty() {
                Applies::Yes
            } else {
                Applies::If(cond)
            },
        )
    }

    fn allowing<'s>(
        &'s self,
        stmts: impl Iterator<Item = &'s Stmt> + 's,
        caller: &'s Caller<'_>,
        key: u32,
    ) -> impl Iterator<Item = Found> + 's {
        stmts
            .filter(|s| s.allow)
            .filter_map(move |s| match self.stmt(s, caller, key) {
                Applies::No => None,
                Applies::Yes => Some(Found {
                    path: vec![s.step],
                    conds: Vec::new(),
                }),
                Applies::If(e) => Some(Found {
                    path: vec![s.step],
                    conds: vec![(s.step, true, e)],
                }),
            })
    }

    /// A cheap test that rules out most pairs of a large account without building a path:
    /// no key-policy statement names the principal (but through the account), no grant
    /// does, and the account's delegation finds no identity statement about the key.
    /// Denies, boundaries and SCPs only take away, so a pair ruled out here has no access.
    fn may_allow(&self, p: &PrincipalData, k: &KeyData) -> bool {
        let mut delegated = false;
        for s in k.statements.iter().filter(|s| s.allow) {
            match s.names.name(p) {
                Named::No => {}
                Named::Account => delegated = true,
                _ => return true,
            }
        }
        if k.grants
            .iter()
            .any(|g| g.grantee == p.arn || p.unique_id.as_deref() == Some(g.grantee.as_str()))
        {
            return true;
        }
        delegated
            && p.identity
                .iter()
                .any(|s| s.allow && (s.res.variable || self.keys.matches(&s.res, k.index)))
    }

    /// Can `p` perform the compiled action on `k`? The path and its conditions if so.
    pub(crate) fn decide(&self, p: &PrincipalData, k: &KeyData) -> Option<Found> {
        let key = k.index;
        if !self.may_allow(p, k) {
            return None;
        }
        let caller = p.caller(&self.account);
        let mut conds: Vec<Cond> = Vec::new();

        // 1. explicit denies
        let mut deny = |applies: Applies, step: u32| -> bool {
            match applies {
                Applies::No => false,
                Applies::Yes => true,
                Applies::If(e) => {
                    conds.push((step, false, e));
                    false
                }
            }
        };
        for s in k.statements.iter().filter(|s| !s.allow) {
            if deny(self.kstmt(s, p, &caller, key).1, s.step) {
                return None;
            }
        }
        let identity_like = p
            .identity
            .iter()
            .chain(p.boundary.iter().flatten())
            .chain(self.scps.iter().flatten());
        for s in identity_like.filter(|s| !s.allow) {
            if deny(self.stmt(s, &caller, key), s.step) {
                return None;
            }
        }
        for s in self.rcps.iter().flatten().filter(|s| !s.allow) {
            if deny(self.kstmt(s, p, &caller, key).1, s.step) {
                return None;
            }
        }

        // 2. every level of SCPs allows
        let mut gates = Found::default();
        for level in &self.scps {
            let g = best(self.allowing(level.iter(), &caller, key))?;
            gates.path.extend(g.path);
            gates.conds.extend(g.conds);
        }
        // 3. a path: the key policy alone, the account's delegation with IAM, or a grant
        let boundary = p
            .boundary
            .as_ref()
            .map(|b| best(self.allowing(b.iter(), &caller, key)));
        let mut options: Vec<Found> = Vec::new();
        let mut delegations: Vec<Found> = Vec::new();
        for s in k.statements.iter().filter(|s| s.allow) {
            let (named, applies) = self.kstmt(s, p, &caller, key);
            let mut choice = match applies {
                Applies::No => continue,
                Applies::Yes => Found {
                    path: vec![s.step],
                    conds: Vec::new(),
                },
                Applies::If(e) => Found {
                    path: vec![s.step],
                    conds: vec![(s.step, true, e)],
                },
            };
            if named == Named::Account {
                delegations.push(choice);
                continue;
            }
            let bypass =
                named == Named::Everyone || (named == Named::Directly && p.kind == Kind::User);
            if !bypass {
                match &boundary {
                    None => {}
                    Some(Some(b)) => {
                        choice.path.extend(&b.path);
                        choice.conds.extend(b.conds.iter().cloned());
                    }
                    Some(None) => continue,
                }
            }
            options.push(choice);
        }
        if let Some(mut d) = best(delegations.into_iter()) {
            let identity = best(self.allowing(p.identity.iter(), &caller, key));
            let bounded = match &boundary {
                None => Some(None),
                Some(Some(b)) => Some(Some(b)),
                Some(None) => None,
            };
            if let (Some(i), Some(b)) = (identity, bounded) {
                d.path.extend(i.path);
                d.conds.extend(i.conds);
                if let Some(b) = b {
                    d.path.extend(&b.path);
                    d.conds.extend(b.conds.iter().cloned());
                }
                options.push(d);
            }
        }
        for g in &k.grants {
            if g.grantee == p.arn || p.unique_id.as_deref() == Some(g.grantee.as_str()) {
                let conds = if g.constraints.is_empty() {
                    Vec::new()
                } else {
                    vec![(g.step, true, g.constraints.clone())]
                };
                options.push(Found {
                    path: vec![g.step],
                    conds,
                });
            }
        }
        let mut found = best(options.into_iter())?;
        found.path.extend(gates.path);
        found.conds.extend(gates.conds);
        found.conds.extend(conds);
        Some(found)
    }
}
