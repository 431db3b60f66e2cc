//! Random policies and pairs of policies for the inclusion tests: statements drawn from small
//! pools of actions, resources and conditions (so that they overlap often), NEW often made
//! from OLD.
#![allow(dead_code)]

use serde_json::{json, Value};

/// A small deterministic generator (xorshift64*), so failures reproduce.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

pub const ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:Get*",
    "s3:*",
    "s3:PutObject",
    "kms:Decrypt",
    "kms:*",
    "kms:De*",
    "*",
    "iam:PassRole",
    "*:Get*",
    "s3:?etObject",
    "KMS:DECRYPT",
];
// Patterns that every reading reads alike (no wildcard in the first five segments but a
// final `*`), so that the evaluator's one reading confirms every answer.
pub const RESOURCES: &[&str] = &[
    "*",
    "arn:aws:s3:::b/*",
    "arn:aws:s3:::b/x",
    "arn:aws:s3:::*",
    "arn:aws:s3:::b/?",
    "arn:aws:kms:us-east-1:111122223333:key/*",
    "arn:aws:kms:us-east-1:111122223333:key/k1",
    "arn:aws:s3:::b/*/x",
    "arn:aws:s3:::b/${aws:username}/*",
];

pub fn condition(rng: &mut Rng) -> Option<Value> {
    match rng.below(6) {
        0 => Some(json!({"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}})),
        1 => Some(json!({"stringequals": {"KMS:ViaService": ["s3.us-east-1.amazonaws.com"]}})),
        2 => Some(json!({"Bool": {"aws:SecureTransport": "true"}})),
        _ => None,
    }
}

pub fn statement(rng: &mut Rng) -> Value {
    let n_actions = 1 + rng.below(2);
    let actions: Vec<&str> = (0..n_actions).map(|_| rng.pick(ACTIONS)).collect();
    let n_resources = 1 + rng.below(2);
    let resources: Vec<&str> = (0..n_resources).map(|_| rng.pick(RESOURCES)).collect();
    let mut s = serde_json::Map::new();
    s.insert(
        "Effect".into(),
        json!(if rng.below(4) == 0 { "Deny" } else { "Allow" }),
    );
    let action_key = if rng.below(6) == 0 {
        "NotAction"
    } else {
        "Action"
    };
    s.insert(action_key.into(), json!(actions));
    let resource_key = if rng.below(6) == 0 {
        "NotResource"
    } else {
        "Resource"
    };
    s.insert(resource_key.into(), json!(resources));
    if let Some(c) = condition(rng) {
        s.insert("Condition".into(), c);
    }
    Value::Object(s)
}

pub fn document(statements: Vec<Value>) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// A pair: OLD random, NEW often made from OLD (a statement left out, one added, one changed),
/// so that both answers occur.
pub fn pair(rng: &mut Rng) -> (Value, Value) {
    let old: Vec<Value> = (0..1 + rng.below(3)).map(|_| statement(rng)).collect();
    let mut new = old.clone();
    match rng.below(4) {
        0 if new.len() > 1 => {
            let i = rng.below(new.len());
            new.remove(i);
        }
        1 => new.push(statement(rng)),
        2 => {
            let i = rng.below(new.len());
            new[i] = statement(rng);
        }
        _ => new = (0..1 + rng.below(3)).map(|_| statement(rng)).collect(),
    }
    (document(old), document(new))
}
