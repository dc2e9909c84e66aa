//! The DynamoDB adapter: every port of [`crate::ports`] on one table.
//!
//! The table has a string partition key `pk`, a string sort key `sk` and a numeric TTL attribute
//! `ttl`. Records are the [`crate::model`] types' stored forms, one attribute per field (absent
//! optional fields are left out, so `attribute_not_exists` sees them as missing). The key of each
//! record, its attributes and the request and condition of each operation are tabled once, in
//! "DynamoDB item layout" of the repository's `docs/architecture.md`.
//!
//! Every check-and-set is one conditional write, so two concurrent requests can't both win; a
//! failed condition is the domain's "no" (`Ok(false)`). No write trusts an earlier read: where
//! one depends on a value read (the throttle count), its condition is that the value is
//! unchanged. Reads are strongly consistent. `ttl` (expiry plus a day) only lets DynamoDB sweep
//! old records: the domain checks `expires_at` itself. Errors name the operation
//! and the record's key, never an attribute's value.

use std::collections::HashMap;
use std::fmt::Debug;
use std::str::FromStr;

use async_trait::async_trait;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, CancellationReason, ConditionCheck, Delete,
    KeySchemaElement, KeyType, KeysAndAttributes, Put, ScalarAttributeType,
    TimeToLiveSpecification, TimeToLiveStatus, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use mfa_core::throttle;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Number, Value};

use crate::ids::{ChallengeId, FactorId, KeyId, LoginId, OrgId, UserId};
use crate::model::{
    AppKey, Attempt, AuditEvent, Budget, Challenge, Delivery, Factor, FactorStatus, Login,
    Memberships, Method, OrgPolicy, PasskeySignIn, RecoverySet, SendLimit, ThrottleState,
    PENDING_FACTOR_TTL,
};
use crate::ports::{
    Activation, AppKeyStore, AttemptStore, AuditLog, ChallengeAttempt, FactorStore, Fail,
    LoginStore, Pass, Passed, PasskeyStore, PhoneStore, PolicyStore, RecoveryAttempt,
    RecoveryStore, RecoveryWrite, SendRefused, SendStore, Sending, StepUpStore, StoreError,
    StoreResult, ThrottleStore, Used, AUDIT_RETENTION,
};

/// How long after `expires_at` (or a send window's end) DynamoDB may delete the record.
const TTL_GRACE_SECONDS: u64 = 86_400;
/// How many times `begin_attempt` reads and tries to count before giving up: each lost race is
/// another attempt counted, and the account locks after a few.
const THROTTLE_TRIES: usize = 32;
/// The error code of a write whose condition did not hold.
const CONDITION_FAILED: &str = "ConditionalCheckFailedException";
/// Error codes of servers that don't implement TTL (DynamoDB-compatible test servers).
const TTL_UNSUPPORTED: [&str; 3] =
    ["UnknownOperationException", "NotImplementedException", "UnsupportedOperationException"];
/// Attributes whose names are DynamoDB reserved words, as expressions must spell them.
const RESERVED_NAMES: [(&str, &str); 3] =
    [("#status", "status"), ("#count", "count"), ("#ttl", "ttl")];

/// A DynamoDB item: attribute name to value.
type Item = HashMap<String, AttributeValue>;

/// How a TransactWriteItems ended.
enum Transacted {
    /// Every item was written.
    Written,
    /// The condition of the item at this index failed: nothing was written.
    Refused(usize),
    /// A concurrent transaction on the same items cancelled it: nothing was written.
    Conflict,
}

/// The DynamoDB store: a client and the name of its single table.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    /// A store on `table` through `client`. The table must exist (see
    /// [`DynamoStore::create_table_if_missing`]).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    /// Creates the table (on-demand billing, `pk` HASH, `sk` RANGE) unless it exists, waits until
    /// it is active, and enables TTL on `ttl`. A server that doesn't implement TTL is accepted.
    /// Safe to call concurrently. Meant for local runs and tests: in AWS the SAM template owns the
    /// table.
    pub async fn create_table_if_missing(&self) -> StoreResult<()> {
        let described = self.client.describe_table().table_name(&self.table).send().await;
        match described {
            Ok(_) => {}
            Err(err) if has_code(&err, &["ResourceNotFoundException"]) => {
                self.create_table().await?
            }
            Err(err) => return Err(unavailable("DescribeTable", &self.table, &err)),
        }
        self.enable_ttl().await
    }

    async fn create_table(&self) -> StoreResult<()> {
        let definition = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
        };
        let key = |name: &str, key_type| {
            KeySchemaElement::builder().attribute_name(name).key_type(key_type).build()
        };
        let invalid = |err| StoreError::Unavailable(format!("CreateTable request: {err}"));
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(definition("pk").map_err(invalid)?)
            .attribute_definitions(definition("sk").map_err(invalid)?)
            .key_schema(key("pk", KeyType::Hash).map_err(invalid)?)
            .key_schema(key("sk", KeyType::Range).map_err(invalid)?)
            .send()
            .await;
        match created {
            // Another process created it first: fine.
            Err(err) if !has_code(&err, &["ResourceInUseException"]) => {
                return Err(unavailable("CreateTable", &self.table, &err));
            }
            _ => {}
        }
        self.client
            .wait_until_table_exists()
            .table_name(&self.table)
            .wait(std::time::Duration::from_secs(300))
            .await
            .map_err(|err| unavailable("waiting for the table", &self.table, &err))?;
        Ok(())
    }

    async fn enable_ttl(&self) -> StoreResult<()> {
        let described = self.client.describe_time_to_live().table_name(&self.table).send().await;
        let status = match described {
            Ok(out) => out.time_to_live_description.and_then(|ttl| ttl.time_to_live_status),
            Err(err) if has_code(&err, &TTL_UNSUPPORTED) => return Ok(()),
            Err(err) => return Err(unavailable("DescribeTimeToLive", &self.table, &err)),
        };
        if matches!(status, Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)) {
            return Ok(());
        }
        let spec = TimeToLiveSpecification::builder()
            .attribute_name("ttl")
            .enabled(true)
            .build()
            .map_err(|err| {
            StoreError::Unavailable(format!("UpdateTimeToLive request: {err}"))
        })?;
        let updated = self
            .client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(spec)
            .send()
            .await;
        match updated {
            Err(err) if !has_code(&err, &TTL_UNSUPPORTED) => {
                Err(unavailable("UpdateTimeToLive", &self.table, &err))
            }
            _ => Ok(()),
        }
    }

    /// The item at `key` (strongly consistent), if any.
    async fn get_item(&self, key: Item) -> StoreResult<Option<Item>> {
        let record = describe_key(&key);
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| unavailable("GetItem", &record, &err))?;
        Ok(out.item)
    }

    /// The items at `keys` (strongly consistent), in their order, read in one BatchGetItem
    /// (keys the server leaves unprocessed are asked for again).
    async fn get_items<const N: usize>(&self, keys: [Item; N]) -> StoreResult<[Option<Item>; N]> {
        let record = keys.first().map(describe_key).unwrap_or_default();
        let found = self.get_many(keys.to_vec(), &record).await?;
        found.try_into().map_err(|_| StoreError::Unavailable(format!("BatchGetItem on {record}")))
    }

    /// The items at `keys` (at most 100; strongly consistent), in their order, in one
    /// BatchGetItem (and more only for keys the server left unprocessed).
    async fn get_many(&self, keys: Vec<Item>, record: &str) -> StoreResult<Vec<Option<Item>>> {
        let mut found: Vec<Option<Item>> = vec![None; keys.len()];
        let mut wanted = keys.clone();
        while !wanted.is_empty() {
            let ask = KeysAndAttributes::builder()
                .set_keys(Some(wanted))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, ask)
                .send()
                .await
                .map_err(|err| unavailable("BatchGetItem", record, &err))?;
            for item in out.responses.and_then(|mut r| r.remove(&self.table)).unwrap_or_default() {
                let at =
                    keys.iter().position(|k| k.iter().all(|(name, v)| item.get(name) == Some(v)));
                if let Some(at) = at {
                    found[at] = Some(item);
                }
            }
            wanted = out
                .unprocessed_keys
                .and_then(|mut r| r.remove(&self.table))
                .map(|k| k.keys)
                .unwrap_or_default();
        }
        Ok(found)
    }

    /// The record at `key`, decoded.
    async fn get<T: DeserializeOwned>(&self, key: Item) -> StoreResult<Option<T>> {
        self.get_item(key).await?.map(from_item).transpose()
    }

    /// Writes `item` unconditionally (replacing any item with its key).
    async fn put(&self, item: Item) -> StoreResult<()> {
        let record = describe_key(&item);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|err| unavailable("PutItem", &record, &err))?;
        Ok(())
    }

    /// Writes `item` only if no item has its key: `false` if one does.
    async fn put_new(&self, item: Item) -> StoreResult<bool> {
        let record = describe_key(&item);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        conditional("PutItem", &record, result)
    }

    /// Like [`DynamoStore::put_new`], with a taken key as [`StoreError::AlreadyExists`].
    async fn insert(&self, item: Item) -> StoreResult<()> {
        if self.put_new(item).await? {
            Ok(())
        } else {
            Err(StoreError::AlreadyExists)
        }
    }

    /// Applies `update` to the item at `key` if `condition` holds, with the expression values
    /// `values`: `false` if the condition does not hold. `#status`, `#count` and `#ttl` in either
    /// expression stand for the attributes of those names (reserved words).
    async fn update_if(
        &self,
        key: Item,
        update: &str,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> StoreResult<bool> {
        let record = describe_key(&key);
        let values = values.into_iter().map(|(name, value)| (name.to_owned(), value)).collect();
        let mut request = self
            .update(key)
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_values(Some(values));
        for (placeholder, name) in RESERVED_NAMES {
            if update.contains(placeholder) || condition.contains(placeholder) {
                request = request.expression_attribute_names(placeholder, name);
            }
        }
        conditional("UpdateItem", &record, request.send().await)
    }

    /// Deletes the item at `key` if `condition` (when there is one) holds: `false` if it does
    /// not.
    async fn delete(&self, key: Item, condition: Option<&str>) -> StoreResult<bool> {
        let record = describe_key(&key);
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .set_condition_expression(condition.map(str::to_owned))
            .send()
            .await;
        conditional("DeleteItem", &record, result)
    }

    /// A strongly consistent Query of the items in partition `pk` whose sort key starts with
    /// `prefix`, to be completed by the caller.
    fn query_prefix(&self, pk: &str, prefix: &str) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", string(pk))
            .expression_attribute_values(":prefix", string(prefix))
    }

    /// Every item `query` (in partition `pk`) finds, all pages.
    async fn query_all(&self, query: QueryFluentBuilder, pk: &str) -> StoreResult<Vec<Item>> {
        query
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|err| unavailable("Query", pk, &err))
    }

    /// Inserts `record` at `key` with a `ttl` a day after `expires_at`.
    async fn insert_expiring<T: Serialize>(
        &self,
        record: &T,
        key: Item,
        expires_at: u64,
    ) -> StoreResult<()> {
        let mut item = to_item(record, key)?;
        item.insert("ttl".into(), expiry(expires_at));
        self.insert(item).await
    }

    /// Marks the record at `key` answered at `now`, once: `false` if it already was, or is
    /// missing.
    async fn consume(&self, key: Item, now: u64) -> StoreResult<bool> {
        self.update_if(
            key,
            "SET consumed_at = :now",
            "attribute_exists(pk) AND attribute_not_exists(consumed_at)",
            vec![(":now", number(now))],
        )
        .await
    }

    /// The update that makes `factor` active with `activation`'s step or key, on condition
    /// that it is still pending, as one item of a transaction.
    fn factor_activation(
        &self,
        user: &UserId,
        id: &FactorId,
        factor: &Factor,
        activation: &Activation<'_>,
    ) -> StoreResult<TransactWriteItem> {
        let mut values = vec![
            (":active", to_attribute(&FactorStatus::Active)?),
            (":pending", to_attribute(&FactorStatus::Pending)?),
            (":now", number(activation.now)),
        ];
        let mut update = String::from("SET #status = :active, activated_at = :now");
        match (&factor.method, activation.key, activation.step) {
            (Method::Webauthn { .. }, Some(key), None) => {
                update.push_str(", credential_id = :cid, credential = :cred");
                values.push((":cid", string(&key.credential_id)));
                values.push((":cred", string(&key.credential)));
            }
            (Method::Totp { .. }, None, Some(step)) => {
                update.push_str(", last_step = :step");
                values.push((":step", number(step)));
            }
            (Method::Totp { .. } | Method::Sms { .. } | Method::Email { .. }, None, None) => {}
            _ => {
                return Err(StoreError::Corrupt(format!(
                    "{} factor {id} activated with the data of another kind",
                    factor.kind().as_str()
                )))
            }
        }
        // An active factor does not expire, as a pending one does.
        update.push_str(" REMOVE #ttl");
        self.transact_update(factor_key(user, id), &update, Some("#status = :pending"), values)
    }

    /// An UpdateItem of a transaction: `update` on the item at `key` if `condition` holds.
    fn transact_update(
        &self,
        key: Item,
        update: &str,
        condition: Option<&str>,
        values: Vec<(&str, AttributeValue)>,
    ) -> StoreResult<TransactWriteItem> {
        let names: HashMap<String, String> = RESERVED_NAMES
            .iter()
            .filter(|(placeholder, _)| {
                update.contains(placeholder) || condition.is_some_and(|c| c.contains(placeholder))
            })
            .map(|(placeholder, name)| ((*placeholder).to_owned(), (*name).to_owned()))
            .collect();
        let values = values.into_iter().map(|(name, value)| (name.to_owned(), value)).collect();
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(update)
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_names((!names.is_empty()).then_some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// A ConditionCheck of a transaction: `condition` on the item at `key`.
    fn transact_check(
        &self,
        key: Item,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> StoreResult<TransactWriteItem> {
        let names: HashMap<String, String> = RESERVED_NAMES
            .iter()
            .filter(|(placeholder, _)| condition.contains(placeholder))
            .map(|(placeholder, name)| ((*placeholder).to_owned(), (*name).to_owned()))
            .collect();
        let values: HashMap<String, AttributeValue> =
            values.into_iter().map(|(name, value)| (name.to_owned(), value)).collect();
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .condition_expression(condition)
            .set_expression_attribute_names((!names.is_empty()).then_some(names))
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// A PutItem of a transaction: `item`, only if no item has its key.
    fn transact_put_new(&self, item: Item) -> StoreResult<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Writes `items` in one TransactWriteItems request: `false`, with nothing written, when a
    /// condition of one of them failed. A transaction cancelled for another reason (a conflict
    /// with another transaction, throttling) is [`StoreError::Unavailable`]: try again.
    async fn transact(&self, items: Vec<TransactWriteItem>, record: &str) -> StoreResult<bool> {
        Ok(self.transact_or_failed(items, record).await?.is_none())
    }

    /// [`Self::transact`], answering which item's condition failed: `None` when all were
    /// written, `Some(i)` when item `i`'s condition failed (and nothing was written).
    async fn transact_or_failed(
        &self,
        items: Vec<TransactWriteItem>,
        record: &str,
    ) -> StoreResult<Option<usize>> {
        match self.transact_outcome(items, record).await? {
            Transacted::Written => Ok(None),
            Transacted::Refused(index) => Ok(Some(index)),
            Transacted::Conflict => Err(StoreError::Unavailable(format!(
                "TransactWriteItems on {record}: a concurrent transaction on the same items; try again"
            ))),
        }
    }

    /// Writes `items` in one TransactWriteItems request, telling a failed condition (which
    /// item's) from a conflict with a concurrent transaction on the same items.
    async fn transact_outcome(
        &self,
        items: Vec<TransactWriteItem>,
        record: &str,
    ) -> StoreResult<Transacted> {
        let result =
            self.client.transact_write_items().set_transact_items(Some(items)).send().await;
        let err = match result {
            Ok(_) => return Ok(Transacted::Written),
            Err(err) => err,
        };
        let reasons = match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                cancelled.cancellation_reasons()
            }
            _ => return Err(unavailable("TransactWriteItems", record, &err)),
        };
        let code = |r: &CancellationReason| r.code().unwrap_or("None").to_owned();
        let failed = reasons.iter().position(|r| code(r) == "ConditionalCheckFailed");
        let known = |codes: &[&str]| reasons.iter().all(|r| codes.contains(&&*code(r)));
        match failed {
            Some(index) if known(&["None", "ConditionalCheckFailed"]) => {
                Ok(Transacted::Refused(index))
            }
            None if known(&["None", "TransactionConflict"]) => Ok(Transacted::Conflict),
            _ => Err(unavailable("TransactWriteItems", record, &err)),
        }
    }

    /// An UpdateItem request on the item at `key`, to be completed by the caller.
    fn update(&self, key: Item) -> UpdateItemFluentBuilder {
        self.client.update_item().table_name(&self.table).set_key(Some(key))
    }
}

#[async_trait]
impl FactorStore for DynamoStore {
    async fn insert_factor(&self, factor: &Factor) -> StoreResult<()> {
        let mut item = to_item(factor, factor_key(&factor.user, &factor.id))?;
        if factor.status == FactorStatus::Pending {
            // A factor never activated goes by itself; activation removes the `ttl`.
            let expires_at = factor.created_at.saturating_add(PENDING_FACTOR_TTL);
            item.insert("ttl".into(), expiry(expires_at));
        }
        self.insert(item).await
    }

    async fn get_factor(&self, user: &UserId, id: &FactorId) -> StoreResult<Option<Factor>> {
        self.get(factor_key(user, id)).await
    }

    async fn list_factors(&self, user: &UserId) -> StoreResult<Vec<Factor>> {
        let pk = user_pk(user);
        let items = self.query_all(self.query_prefix(&pk, FACTOR_PREFIX), &pk).await?;
        let mut factors = items.into_iter().map(from_item).collect::<StoreResult<Vec<Factor>>>()?;
        Factor::sort_oldest_first(&mut factors);
        Ok(factors)
    }

    async fn factors_and_orgs(&self, user: &UserId) -> StoreResult<(Vec<Factor>, Vec<OrgId>)> {
        // `FACTOR#...` up to `ORGS` (the grace counts `GRACE#...` between them are skipped).
        let pk = user_pk(user);
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .key_condition_expression("pk = :pk AND sk BETWEEN :first AND :orgs")
            .expression_attribute_values(":pk", string(&pk))
            .expression_attribute_values(":first", string(FACTOR_PREFIX))
            .expression_attribute_values(":orgs", string(ORGS));
        let items = self.query_all(query, &pk).await?;
        let (mut factors, mut orgs) = (Vec::new(), Vec::new());
        for item in items {
            match item.get("sk").and_then(|sk| sk.as_s().ok()).map(String::as_str) {
                Some(sk) if sk.starts_with(FACTOR_PREFIX) => factors.push(from_item(item)?),
                Some(ORGS) => orgs = from_item::<Memberships>(item)?.orgs,
                _ => {}
            }
        }
        Factor::sort_oldest_first(&mut factors);
        Ok((factors, orgs))
    }

    async fn activate_factor(
        &self,
        user: &UserId,
        id: &FactorId,
        activation: &Activation<'_>,
    ) -> StoreResult<bool> {
        let Some(factor) = self.get::<Factor>(factor_key(user, id)).await? else {
            return Ok(false);
        };
        if factor.status != FactorStatus::Pending {
            return Ok(false);
        }
        let mut writes = vec![self.factor_activation(user, id, &factor, activation)?];
        // Every activation counts itself on the user's ACTIVATIONS record: `count` (every
        // activation ever) and `active_factors` (the factors active now; a deletion takes one
        // off). A factor enrolled without step-up is activated only if no factor is active and
        // no activation came between that read and this write (the count is what was read); a
        // limit on active factors holds on `active_factors`.
        let counter = key(user_pk(user), "ACTIVATIONS");
        let mut values = vec![(":one", number(1))];
        let mut conditions = Vec::new();
        let mut update = String::from("ADD active_factors :one, #count :one");
        if !factor.enrolled_with_step_up {
            let item = self.get_item(counter.clone()).await?.unwrap_or_default();
            let seen = read_number::<u64>(&item, "count", &describe_key(&counter))?;
            if self.list_factors(user).await?.iter().any(|f| f.status == FactorStatus::Active) {
                return Ok(false);
            }
            update = String::from("SET #count = :next ADD active_factors :one");
            values.push((":next", number(seen.unwrap_or(0) + 1)));
            match seen {
                Some(seen) => {
                    conditions.push("#count = :seen");
                    values.push((":seen", number(seen)));
                }
                None => conditions.push("attribute_not_exists(#count)"),
            }
        }
        if let Some(max) = activation.max_active {
            conditions.push("(attribute_not_exists(active_factors) OR active_factors < :max)");
            values.push((":max", number(max)));
        }
        let condition = (!conditions.is_empty()).then(|| conditions.join(" AND "));
        writes.push(self.transact_update(counter, &update, condition.as_deref(), values)?);
        if let Some(challenge) = activation.challenge {
            writes.push(self.transact_update(
                challenge_key(challenge),
                "SET consumed_at = :now",
                Some("attribute_exists(pk) AND attribute_not_exists(consumed_at)"),
                vec![(":now", number(activation.now))],
            )?);
        }
        let recovery = match activation.recovery {
            RecoveryWrite::Keep => None,
            RecoveryWrite::Insert(set) => Some((set, "attribute_not_exists(pk)", None)),
            RecoveryWrite::Replace { old, new } => Some((new, "id = :old", Some(old))),
        };
        if let Some((set, condition, old)) = recovery {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(to_item(set, recovery_key(user))?))
                .condition_expression(condition)
                .set_expression_attribute_values(
                    old.map(|old| HashMap::from([(":old".to_owned(), string(old))])),
                )
                .build()
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            writes.push(TransactWriteItem::builder().put(put).build());
        }
        self.transact(writes, &describe_key(&factor_key(user, id))).await
    }

    async fn update_webauthn_key(
        &self,
        user: &UserId,
        id: &FactorId,
        old: &str,
        new: &str,
    ) -> StoreResult<bool> {
        self.update_if(
            factor_key(user, id),
            "SET credential = :new",
            "#status = :active AND credential = :old",
            vec![
                (":active", to_attribute(&FactorStatus::Active)?),
                (":old", string(old)),
                (":new", string(new)),
            ],
        )
        .await
    }

    async fn delete_factor(
        &self,
        user: &UserId,
        id: &FactorId,
        status: FactorStatus,
    ) -> StoreResult<bool> {
        let record = describe_key(&factor_key(user, id));
        // An active factor is taken off the user's count of active factors, in the same
        // transaction (a user whose count was never kept has none to take off).
        let counter = key(user_pk(user), "ACTIVATIONS");
        let counted = status == FactorStatus::Active
            && self
                .get_item(counter.clone())
                .await?
                .is_some_and(|c| c.contains_key("active_factors"));
        if counted {
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(factor_key(user, id)))
                .condition_expression("#status = :status")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":status", to_attribute(&status)?)
                .build()
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            let take_off = self.transact_update(
                counter,
                "ADD active_factors :minus",
                None,
                vec![(":minus", number(-1))],
            )?;
            let writes = vec![TransactWriteItem::builder().delete(delete).build(), take_off];
            return self.transact(writes, &record).await;
        }
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(factor_key(user, id)))
            .condition_expression("#status = :status")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", to_attribute(&status)?)
            .send()
            .await;
        conditional("DeleteItem", &record, result)
    }

    async fn change_phone(
        &self,
        user: &UserId,
        id: &FactorId,
        old: &str,
        new: &str,
    ) -> StoreResult<bool> {
        self.update_if(
            factor_key(user, id),
            "SET phone = :new",
            "#status = :active AND phone = :old",
            vec![
                (":active", to_attribute(&FactorStatus::Active)?),
                (":old", string(old)),
                (":new", string(new)),
            ],
        )
        .await
    }
}

#[async_trait]
impl RecoveryStore for DynamoStore {
    async fn replace_recovery_set(&self, user: &UserId, set: &RecoverySet) -> StoreResult<()> {
        self.put(to_item(set, recovery_key(user))?).await
    }

    async fn get_recovery_set(&self, user: &UserId) -> StoreResult<Option<RecoverySet>> {
        self.get(recovery_key(user)).await
    }
}

/// Marks a recovery code used...
const RECOVERY_USE: &str = "SET used = list_append(if_not_exists(used, :none), :this)";
/// ...if its set is the current one and the code is unused.
const RECOVERY_USABLE: &str = "id = :set AND size(hashes) > :index AND NOT contains(used, :index)";

/// The values of [`RECOVERY_USE`] and [`RECOVERY_USABLE`] for code `index` of set `set_id`.
fn recovery_use(set_id: &str, index: u32) -> Vec<(&'static str, AttributeValue)> {
    vec![
        (":set", string(set_id)),
        (":index", number(index)),
        (":this", AttributeValue::L(vec![number(index)])),
        (":none", AttributeValue::L(Vec::new())),
    ]
}

#[async_trait]
impl LoginStore for DynamoStore {
    async fn insert_login(&self, login: &Login) -> StoreResult<()> {
        let mut item = to_item(login, login_key(&login.id))?;
        item.insert("ttl".into(), expiry(login.expires_at));
        self.insert(item).await
    }

    async fn get_login(&self, id: &LoginId) -> StoreResult<Option<Login>> {
        self.get(login_key(id)).await
    }

    async fn insert_challenge(&self, challenge: &Challenge) -> StoreResult<()> {
        self.insert_expiring(challenge, challenge_key(&challenge.id), challenge.expires_at).await
    }

    async fn get_challenge(&self, id: &ChallengeId) -> StoreResult<Option<Challenge>> {
        self.get(challenge_key(id)).await
    }

    async fn challenge_context(
        &self,
        user: &UserId,
        login: &LoginId,
        factor: &FactorId,
    ) -> StoreResult<(Option<Login>, Option<Factor>, Vec<OrgId>)> {
        let [login, factor, orgs] = self
            .get_items([login_key(login), factor_key(user, factor), key(user_pk(user), ORGS)])
            .await?;
        Ok((
            login.map(from_item).transpose()?,
            factor.map(from_item).transpose()?,
            orgs.map(from_item::<Memberships>).transpose()?.map(|m| m.orgs).unwrap_or_default(),
        ))
    }

    async fn consume_challenge(&self, id: &ChallengeId, now: u64) -> StoreResult<bool> {
        self.consume(challenge_key(id), now).await
    }

    async fn record_challenge_attempt(&self, id: &ChallengeId, max: u32) -> StoreResult<bool> {
        if max == 0 {
            // No attempt is allowed (the condition would let one through a record without
            // `attempts`).
            return Ok(false);
        }
        self.update_if(
            challenge_key(id),
            "ADD attempts :one",
            "attribute_exists(pk) AND attribute_not_exists(consumed_at) \
             AND (attribute_not_exists(attempts) OR attempts < :max)",
            vec![(":one", number(1)), (":max", number(max))],
        )
        .await
    }

    async fn return_login_message(&self, login_id: &LoginId, by: Delivery) -> StoreResult<()> {
        let flag = login_flag(by);
        self.update_if(
            login_key(login_id),
            &format!("SET {flag} = :false"),
            &format!("{flag} = :true"),
            vec![(":true", AttributeValue::Bool(true)), (":false", AttributeValue::Bool(false))],
        )
        .await
        .map(drop)
    }
}

/// The attribute of a login that says its text message (or call) was taken.
fn login_flag(by: Delivery) -> &'static str {
    match by {
        Delivery::Sms => "sms_sent",
        Delivery::Voice => "call_made",
    }
}

/// Which user a WebAuthn user handle names.
#[derive(Serialize, serde::Deserialize)]
struct HandleOwner {
    user: UserId,
}

fn passkey_key(id: &ChallengeId) -> Item {
    key(format!("PASSKEY#{id}"), "SIGNIN")
}

fn handle_key(handle: &str) -> Item {
    key(format!("HANDLE#{handle}"), "USER")
}

#[async_trait]
impl PasskeyStore for DynamoStore {
    async fn insert_passkey_sign_in(&self, sign_in: &PasskeySignIn) -> StoreResult<()> {
        self.insert_expiring(sign_in, passkey_key(&sign_in.id), sign_in.expires_at).await
    }

    async fn get_passkey_sign_in(&self, id: &ChallengeId) -> StoreResult<Option<PasskeySignIn>> {
        self.get(passkey_key(id)).await
    }

    async fn consume_passkey_sign_in(&self, id: &ChallengeId, now: u64) -> StoreResult<bool> {
        self.consume(passkey_key(id), now).await
    }

    async fn put_user_handle(&self, handle: &str, user: &UserId) -> StoreResult<()> {
        self.put(to_item(&HandleOwner { user: user.clone() }, handle_key(handle))?).await
    }

    async fn user_of_handle(&self, handle: &str) -> StoreResult<Option<UserId>> {
        Ok(self.get::<HandleOwner>(handle_key(handle)).await?.map(|owner| owner.user))
    }
}

/// A phone number's opt-out record.
#[derive(Serialize)]
struct OptOut {
    /// When the number replied STOP.
    at: u64,
}

#[async_trait]
impl PhoneStore for DynamoStore {
    async fn opt_out(&self, phone: &str, now: u64) -> StoreResult<()> {
        self.put(to_item(&OptOut { at: now }, opt_out_key(phone))?).await
    }

    async fn opt_in(&self, phone: &str) -> StoreResult<()> {
        // Unconditional: opting in a number that never opted out is fine.
        self.delete(opt_out_key(phone), None).await.map(drop)
    }

    async fn is_opted_out(&self, phone: &str) -> StoreResult<bool> {
        Ok(self.get_item(opt_out_key(phone)).await?.is_some())
    }

    async fn claim_delivery(
        &self,
        message_id: &str,
        now: u64,
        expires_at: u64,
    ) -> StoreResult<bool> {
        self.update_if(
            delivery_key(message_id),
            "SET expires_at = :expires_at, #ttl = :ttl",
            "attribute_not_exists(expires_at) OR expires_at <= :now",
            vec![
                (":expires_at", number(expires_at)),
                (":ttl", expiry(expires_at)),
                (":now", number(now)),
            ],
        )
        .await
    }

    async fn release_delivery(&self, message_id: &str) -> StoreResult<()> {
        self.delete(delivery_key(message_id), None).await.map(drop)
    }
}

/// Counts one message in a budget's window record, if the window has one left.
const SEND_UPDATE: &str = "ADD #count :one SET #ttl = :ttl";
/// The condition of [`SEND_UPDATE`].
const SEND_CONDITION: &str = "attribute_not_exists(#count) OR #count < :max";

/// The key and values of [`SEND_UPDATE`] for `limit`'s window at `now`, and the record's name.
fn send_update(limit: &SendLimit, now: u64) -> (Item, Vec<(&'static str, AttributeValue)>, String) {
    let (pk, sk, ends_at) = limit.record(now);
    let record = format!("{pk}/{sk}");
    let values = vec![(":one", number(1)), (":max", number(limit.max)), (":ttl", expiry(ends_at))];
    (key(pk, sk), values, record)
}

#[async_trait]
impl SendStore for DynamoStore {
    async fn take_sends(
        &self,
        sending: &Sending<'_>,
        now: u64,
    ) -> StoreResult<Option<SendRefused>> {
        let limits = sending.limits;
        // No message is allowed by a zero budget (the condition would let the first through).
        if let Some(zero) = limits.iter().position(|l| l.max == 0) {
            return Ok(Some(SendRefused::Full(zero)));
        }
        if let (Some(limit), 1) = (limits.first(), limits.len()) {
            if *sending == Sending::counted(limits) {
                let (key, values, _) = send_update(limit, now);
                let taken = self.update_if(key, SEND_UPDATE, SEND_CONDITION, values).await?;
                return Ok((!taken).then_some(SendRefused::Full(0)));
            }
        }
        // Each write, and what its failed condition means (`None`: an error).
        let mut writes = Vec::with_capacity(limits.len() + 3);
        let mut record = String::new();
        if let Some(phone) = sending.not_opted_out {
            let check =
                self.transact_check(opt_out_key(phone), "attribute_not_exists(pk)", vec![])?;
            writes.push((check, Some(SendRefused::OptedOut)));
        }
        if let Some((login, by)) = sending.login_message {
            let flag = login_flag(by);
            let update = self.transact_update(
                login_key(login),
                &format!("SET {flag} = :true"),
                Some(&format!(
                    "attribute_exists(pk) AND (attribute_not_exists({flag}) OR {flag} = :false)"
                )),
                vec![
                    (":true", AttributeValue::Bool(true)),
                    (":false", AttributeValue::Bool(false)),
                ],
            )?;
            writes.push((update, Some(SendRefused::LoginHadMessage)));
        }
        for (i, limit) in limits.iter().enumerate() {
            let (key, values, name) = send_update(limit, now);
            let update = self.transact_update(key, SEND_UPDATE, Some(SEND_CONDITION), values)?;
            writes.push((update, Some(SendRefused::Full(i))));
            record = name;
        }
        if let Some(challenge) = sending.challenge {
            let mut item = to_item(challenge, challenge_key(&challenge.id))?;
            item.insert("ttl".into(), expiry(challenge.expires_at));
            record = describe_key(&challenge_key(&challenge.id));
            writes.push((self.transact_put_new(item)?, None));
        }
        let (items, meanings): (Vec<_>, Vec<_>) = writes.into_iter().unzip();
        match self.transact_or_failed(items, &record).await? {
            None => Ok(None),
            Some(i) => {
                meanings.get(i).copied().flatten().map(Some).ok_or(StoreError::AlreadyExists)
            }
        }
    }

    async fn sends(&self, limit: &SendLimit, now: u64) -> StoreResult<u32> {
        let (pk, sk, _) = limit.record(now);
        let record = format!("{pk}/{sk}");
        let item = self.get_item(key(pk, sk)).await?.unwrap_or_default();
        Ok(read_number::<u32>(&item, "count", &record)?.unwrap_or(0))
    }
}

#[async_trait]
impl ThrottleStore for DynamoStore {
    async fn begin_attempt(&self, user: &UserId, budget: Budget, now: u64) -> StoreResult<Attempt> {
        let key = throttle_key(user, budget);
        let record = describe_key(&key);
        // Compare-and-set on the count: the new count and the lock it brings are one write,
        // conditional on the count read, so no attempt can slip in between a count and its lock.
        // A failed condition means another attempt (or a success) changed the count: read again.
        for _ in 0..THROTTLE_TRIES {
            let item = self.get_item(key.clone()).await?.unwrap_or_default();
            let lock = read_number::<u64>(&item, "locked_until", &record)?;
            if let Some(until) = lock.filter(|until| *until > now) {
                return Ok(Attempt::Locked { until });
            }
            let seen = read_number::<u32>(&item, "failures", &record)?;
            let (update, condition, values) = count_failure(seen, now);
            if self.update_if(key.clone(), update, condition, values).await? {
                return Ok(Attempt::Allowed);
            }
        }
        Err(StoreError::Unavailable(format!(
            "{record}: the throttle record kept changing; try again"
        )))
    }

    async fn succeed(&self, user: &UserId, budget: Budget) -> StoreResult<()> {
        let key = throttle_key(user, budget);
        let record = describe_key(&key);
        self.update(key)
            .update_expression("SET failures = :zero REMOVE locked_until")
            .expression_attribute_values(":zero", number(0))
            .send()
            .await
            .map_err(|err| unavailable("UpdateItem", &record, &err))?;
        Ok(())
    }

    async fn failures(&self, user: &UserId, budget: Budget) -> StoreResult<u32> {
        let key = throttle_key(user, budget);
        let record = describe_key(&key);
        let item = self.get_item(key).await?.unwrap_or_default();
        Ok(read_number(&item, "failures", &record)?.unwrap_or(0))
    }
}

/// The write that counts one more failure than `seen` (`None`: no count yet) at `now`, with the
/// lock the new count brings, on condition that the count is still `seen`: its update,
/// condition and values.
fn count_failure(
    seen: Option<u32>,
    now: u64,
) -> (&'static str, &'static str, Vec<(&'static str, AttributeValue)>) {
    let failures = seen.unwrap_or(0).saturating_add(1);
    let mut values = vec![(":failures", number(failures)), (":now", number(now))];
    let update = match throttle::locked_until(failures, now) {
        Some(until) => {
            values.push((":until", number(until)));
            "SET failures = :failures, last_failure_at = :now, locked_until = :until"
        }
        None => "SET failures = :failures, last_failure_at = :now REMOVE locked_until",
    };
    let condition = match seen {
        Some(seen) => {
            values.push((":seen", number(seen)));
            "failures = :seen"
        }
        None => "attribute_not_exists(failures)",
    };
    (update, condition, values)
}

/// The condition that a throttle record still counts `seen` failures (none: no record, or 0).
fn throttle_unchanged(seen: u32) -> &'static str {
    if seen == 0 {
        "attribute_not_exists(failures) OR failures = :seen"
    } else {
        "failures = :seen"
    }
}

/// A throttle record's count and lock.
fn throttle_state(item: Option<Item>, key: &Item) -> StoreResult<ThrottleState> {
    let item = item.unwrap_or_default();
    let record = describe_key(key);
    Ok(ThrottleState {
        failures: read_number(&item, "failures", &record)?.unwrap_or(0),
        locked_until: read_number(&item, "locked_until", &record)?,
    })
}

#[async_trait]
impl AttemptStore for DynamoStore {
    async fn challenge_attempt(
        &self,
        user: &UserId,
        id: &ChallengeId,
    ) -> StoreResult<ChallengeAttempt> {
        let throttle = throttle_key(user, Budget::SecondFactor);
        let [challenge, count] = self.get_items([challenge_key(id), throttle.clone()]).await?;
        Ok(ChallengeAttempt {
            challenge: challenge.map(from_item).transpose()?,
            throttle: throttle_state(count, &throttle)?,
        })
    }

    async fn recovery_attempt(
        &self,
        user: &UserId,
        login: Option<&LoginId>,
    ) -> StoreResult<RecoveryAttempt> {
        let throttle = throttle_key(user, Budget::RecoveryCodes);
        let set = recovery_key(user);
        let (set, count, login) = match login {
            Some(login) => {
                let [set, count, login] =
                    self.get_items([set, throttle.clone(), login_key(login)]).await?;
                (set, count, login)
            }
            None => {
                let [set, count] = self.get_items([set, throttle.clone()]).await?;
                (set, count, None)
            }
        };
        Ok(RecoveryAttempt {
            set: set.map(from_item).transpose()?,
            login: login.map(from_item).transpose()?,
            throttle: throttle_state(count, &throttle)?,
        })
    }

    async fn pass_attempt(&self, pass: &Pass<'_>) -> StoreResult<Passed> {
        let mut writes = Vec::with_capacity(4);
        let record = match pass.used {
            Used::Challenge { id, factor, step, max_attempts, now } => {
                let mut update = String::from("SET consumed_at = :now");
                let mut condition =
                    String::from("attribute_exists(pk) AND attribute_not_exists(consumed_at)");
                let mut values = vec![(":now", number(now))];
                if let Some(max) = max_attempts {
                    update.push_str(" ADD attempts :one");
                    condition.push_str(" AND (attribute_not_exists(attempts) OR attempts < :max)");
                    values.extend([(":one", number(1)), (":max", number(max))]);
                }
                writes.push(self.transact_update(
                    challenge_key(id),
                    &update,
                    Some(&condition),
                    values,
                )?);
                let active = (":active", to_attribute(&FactorStatus::Active)?);
                let factor = factor_key(pass.user, factor);
                writes.push(match step {
                    Some(step) => self.transact_update(
                        factor,
                        "SET last_step = :step",
                        Some("#status = :active AND (attribute_not_exists(last_step) OR last_step < :step)"),
                        vec![active, (":step", number(step))],
                    )?,
                    None => self.transact_check(factor, "#status = :active", vec![active])?,
                });
                describe_key(&challenge_key(id))
            }
            Used::RecoveryCode { set, index } => {
                writes.push(self.transact_update(
                    recovery_key(pass.user),
                    RECOVERY_USE,
                    Some(RECOVERY_USABLE),
                    recovery_use(set, index),
                )?);
                describe_key(&recovery_key(pass.user))
            }
        };
        let used = writes.len();
        writes.push(self.transact_update(
            throttle_key(pass.user, pass.budget),
            "SET failures = :zero REMOVE locked_until",
            Some(throttle_unchanged(pass.seen)),
            vec![(":zero", number(0)), (":seen", number(pass.seen))],
        )?);
        if let Some(event) = pass.event {
            writes.push(self.transact_put_new(audit_item(event)?)?);
        }
        // A concurrent transaction on these items: as if the count had moved, read again.
        Ok(match self.transact_outcome(writes, &record).await? {
            Transacted::Written => Passed::Yes,
            Transacted::Refused(0) => Passed::AlreadyUsed,
            Transacted::Refused(i) if i < used => Passed::FactorRefused,
            Transacted::Refused(i) if i == used => Passed::ThrottleMoved,
            Transacted::Conflict => Passed::ThrottleMoved,
            Transacted::Refused(_) => return Err(StoreError::AlreadyExists),
        })
    }

    async fn fail_attempt(&self, fail: &Fail<'_>) -> StoreResult<bool> {
        let throttle = throttle_key(fail.user, fail.budget);
        let (update, _, values) = count_failure(Some(fail.seen), fail.now);
        let condition = throttle_unchanged(fail.seen);
        if fail.challenge.is_none() && fail.event.is_none() {
            return self.update_if(throttle, update, condition, values).await;
        }
        let record = describe_key(&throttle);
        let mut writes = vec![self.transact_update(throttle, update, Some(condition), values)?];
        if let Some(id) = fail.challenge {
            writes.push(self.transact_update(
                challenge_key(id),
                "ADD attempts :one",
                Some("attribute_exists(pk)"),
                vec![(":one", number(1))],
            )?);
        }
        if let Some(event) = fail.event {
            writes.push(self.transact_put_new(audit_item(event)?)?);
        }
        // The throttle's count, or the challenge (when there is one) gone: read again; the
        // audit event's id taken: an error.
        let refused = 1 + usize::from(fail.challenge.is_some());
        match self.transact_outcome(writes, &record).await? {
            Transacted::Written => Ok(true),
            Transacted::Refused(i) if i < refused => Ok(false),
            Transacted::Conflict => Ok(false),
            Transacted::Refused(_) => Err(StoreError::AlreadyExists),
        }
    }
}

fn app_key_key(id: &KeyId) -> Item {
    key("APIKEYS".to_owned(), format!("KEY#{id}"))
}

#[async_trait]
impl AppKeyStore for DynamoStore {
    async fn insert_app_key(&self, app_key: &AppKey) -> StoreResult<()> {
        self.insert(to_item(app_key, app_key_key(&app_key.id))?).await
    }

    async fn get_app_key(&self, id: &KeyId) -> StoreResult<Option<AppKey>> {
        self.get(app_key_key(id)).await
    }

    async fn list_app_keys(&self) -> StoreResult<Vec<AppKey>> {
        let items = self
            .query_prefix("APIKEYS", "KEY#")
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|err| unavailable("Query", "APIKEYS", &err))?;
        let mut keys = items.into_iter().map(from_item).collect::<StoreResult<Vec<AppKey>>>()?;
        keys.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(keys)
    }

    async fn delete_app_key(&self, id: &KeyId) -> StoreResult<bool> {
        self.delete(app_key_key(id), Some("attribute_exists(pk)")).await
    }
}

#[async_trait]
impl StepUpStore for DynamoStore {
    async fn take_step_up(&self, jti: &str, expires_at: u64) -> StoreResult<bool> {
        let mut item = key(format!("STEPUP#{jti}"), "TAKEN");
        item.insert("expires_at".into(), number(expires_at));
        item.insert("ttl".into(), expiry(expires_at));
        self.put_new(item).await
    }
}

#[async_trait]
impl PolicyStore for DynamoStore {
    async fn get_policy(&self, org: &OrgId) -> StoreResult<OrgPolicy> {
        Ok(self.get(policy_key(org)).await?.unwrap_or_default())
    }

    async fn get_policies(&self, orgs: &[OrgId]) -> StoreResult<Vec<OrgPolicy>> {
        let Some(first) = orgs.first() else { return Ok(Vec::new()) };
        let keys: Vec<Item> = orgs.iter().map(policy_key).collect();
        let found = self.get_many(keys, &describe_key(&policy_key(first))).await?;
        found
            .into_iter()
            .map(|item| Ok(item.map(from_item).transpose()?.unwrap_or_default()))
            .collect()
    }

    async fn put_policy(&self, org: &OrgId, policy: &OrgPolicy) -> StoreResult<()> {
        self.put(to_item(policy, policy_key(org))?).await
    }

    async fn put_memberships(&self, user: &UserId, orgs: &[OrgId]) -> StoreResult<()> {
        let record = Memberships { orgs: orgs.to_vec() };
        self.put(to_item(&record, key(user_pk(user), "ORGS"))?).await
    }

    async fn memberships(&self, user: &UserId) -> StoreResult<Vec<OrgId>> {
        let record: Option<Memberships> = self.get(key(user_pk(user), ORGS)).await?;
        Ok(record.map(|r| r.orgs).unwrap_or_default())
    }

    async fn take_grace_login(&self, user: &UserId, org: &OrgId, max: u32) -> StoreResult<bool> {
        if max == 0 {
            // None is allowed (the condition would let the first one through).
            return Ok(false);
        }
        self.update_if(
            key(user_pk(user), format!("GRACE#{org}")),
            "ADD #count :one",
            "attribute_not_exists(#count) OR #count < :max",
            vec![(":one", number(1)), (":max", number(max))],
        )
        .await
    }
}

#[async_trait]
impl AuditLog for DynamoStore {
    async fn append(&self, event: &AuditEvent) -> StoreResult<()> {
        self.insert(audit_item(event)?).await
    }

    async fn latest_events(&self, user: &UserId, limit: usize) -> StoreResult<Vec<AuditEvent>> {
        let pk = user_pk(user);
        let out = self
            .query_prefix(&pk, AUDIT_PREFIX)
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX).max(1))
            .send()
            .await
            .map_err(|err| unavailable("Query", &pk, &err))?;
        out.items.unwrap_or_default().into_iter().take(limit).map(from_item).collect()
    }
}

// Keys.

const AUDIT_PREFIX: &str = "AUDIT#";

/// `AUDIT#{at, 20 digits}#{id}`: a user's events sort by time.
fn audit_key(event: &AuditEvent) -> Item {
    key(user_pk(&event.user), format!("{AUDIT_PREFIX}{:020}#{}", event.at, event.id))
}

/// An audit event's item, kept [`AUDIT_RETENTION`].
fn audit_item(event: &AuditEvent) -> StoreResult<Item> {
    let mut item = to_item(event, audit_key(event))?;
    item.insert("ttl".into(), expiry(event.at.saturating_add(AUDIT_RETENTION)));
    Ok(item)
}

const FACTOR_PREFIX: &str = "FACTOR#";
/// The sort key of a user's memberships.
const ORGS: &str = "ORGS";

fn key(pk: String, sk: impl Into<String>) -> Item {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(pk)),
        ("sk".to_owned(), AttributeValue::S(sk.into())),
    ])
}

fn user_pk(user: &UserId) -> String {
    format!("USER#{user}")
}

fn factor_key(user: &UserId, id: &FactorId) -> Item {
    key(user_pk(user), format!("{FACTOR_PREFIX}{id}"))
}

fn recovery_key(user: &UserId) -> Item {
    key(user_pk(user), "RECOVERY")
}

fn throttle_key(user: &UserId, budget: Budget) -> Item {
    key(user_pk(user), budget.sort_key())
}

fn login_key(id: &LoginId) -> Item {
    key(format!("LOGIN#{id}"), "LOGIN")
}

fn challenge_key(id: &ChallengeId) -> Item {
    key(format!("CHALLENGE#{id}"), "CHALLENGE")
}

fn policy_key(org: &OrgId) -> Item {
    key(format!("ORG#{org}"), "POLICY")
}

fn phone_pk(phone: &str) -> String {
    format!("PHONE#{phone}")
}

fn opt_out_key(phone: &str) -> Item {
    key(phone_pk(phone), "OPTOUT")
}

fn delivery_key(message_id: &str) -> Item {
    key(format!("SNS#{message_id}"), "DELIVERY")
}

/// `pk/sk` of an item or key, to name a record in errors.
fn describe_key(item: &Item) -> String {
    let part = |name: &str| match item.get(name) {
        Some(AttributeValue::S(value)) => value.as_str(),
        _ => "?",
    };
    format!("{}/{}", part("pk"), part("sk"))
}

// Errors.

fn has_code<E: ProvideErrorMetadata>(err: &E, codes: &[&str]) -> bool {
    err.code().is_some_and(|code| codes.contains(&code))
}

fn unavailable<E: std::error::Error>(operation: &str, record: &str, err: &E) -> StoreError {
    StoreError::Unavailable(format!(
        "DynamoDB {operation} on {record} failed: {}",
        DisplayErrorContext(err)
    ))
}

/// A conditional write's outcome: `true` if it was made, `false` if its condition failed.
fn conditional<T, E, R>(
    operation: &str,
    record: &str,
    result: Result<T, SdkError<E, R>>,
) -> StoreResult<bool>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: Debug,
{
    match result {
        Ok(_) => Ok(true),
        Err(err) if has_code(&err, &[CONDITION_FAILED]) => Ok(false),
        Err(err) => Err(unavailable(operation, record, &err)),
    }
}

// Attribute values.

fn string(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn number(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn expiry(expires_at: u64) -> AttributeValue {
    number(expires_at.saturating_add(TTL_GRACE_SECONDS))
}

/// The number attribute `name` of `item`, if present.
fn read_number<T: FromStr>(item: &Item, name: &str, record: &str) -> StoreResult<Option<T>> {
    match item.get(name) {
        None => Ok(None),
        Some(AttributeValue::N(value)) => value
            .parse()
            .map(Some)
            .map_err(|_| StoreError::Corrupt(format!("{record}: `{name}` is out of range"))),
        Some(_) => Err(StoreError::Corrupt(format!("{record}: `{name}` is not a number"))),
    }
}

/// `value` (a model type or a field of one) as an attribute value, through its serde form.
fn to_attribute<T: Serialize>(value: &T) -> StoreResult<AttributeValue> {
    serde_json::to_value(value)
        .map(json_to_attribute)
        .map_err(|err| StoreError::Corrupt(format!("record can't be encoded: {err}")))
}

/// `record`'s fields as attributes beside `key`, leaving out `None` fields.
fn to_item<T: Serialize>(record: &T, key: Item) -> StoreResult<Item> {
    let AttributeValue::M(fields) = to_attribute(record)? else {
        return Err(StoreError::Corrupt(format!("{}: record is not a struct", describe_key(&key))));
    };
    let mut item: Item =
        fields.into_iter().filter(|(_, value)| !matches!(value, AttributeValue::Null(_))).collect();
    item.extend(key);
    Ok(item)
}

/// The record stored in `item` (keys and `ttl` aside).
fn from_item<T: DeserializeOwned>(mut item: Item) -> StoreResult<T> {
    let record = describe_key(&item);
    for name in ["pk", "sk", "ttl"] {
        item.remove(name);
    }
    let fields = item
        .into_iter()
        .map(|(name, value)| Ok((name, attribute_to_json(value)?)))
        .collect::<Result<Map<_, _>, String>>();
    fields
        .and_then(|fields| {
            serde_json::from_value(Value::Object(fields)).map_err(|err| err.to_string())
        })
        .map_err(|err| StoreError::Corrupt(format!("{record}: {err}")))
}

fn json_to_attribute(value: Value) -> AttributeValue {
    match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(value) => AttributeValue::Bool(value),
        Value::Number(value) => AttributeValue::N(value.to_string()),
        Value::String(value) => AttributeValue::S(value),
        Value::Array(values) => {
            AttributeValue::L(values.into_iter().map(json_to_attribute).collect())
        }
        Value::Object(fields) => AttributeValue::M(
            fields.into_iter().map(|(name, value)| (name, json_to_attribute(value))).collect(),
        ),
    }
}

fn attribute_to_json(value: AttributeValue) -> Result<Value, String> {
    let list = |values: Vec<AttributeValue>| {
        values.into_iter().map(attribute_to_json).collect::<Result<Vec<_>, _>>().map(Value::Array)
    };
    Ok(match value {
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::Bool(value) => Value::Bool(value),
        AttributeValue::N(value) => Value::Number(json_number(&value)?),
        AttributeValue::S(value) => Value::String(value),
        AttributeValue::L(values) => list(values)?,
        AttributeValue::Ns(values) => list(values.into_iter().map(AttributeValue::N).collect())?,
        AttributeValue::Ss(values) => list(values.into_iter().map(AttributeValue::S).collect())?,
        AttributeValue::M(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(name, value)| Ok((name, attribute_to_json(value)?)))
                .collect::<Result<_, String>>()?,
        ),
        _ => return Err("an attribute has a type the service never writes".to_owned()),
    })
}

fn json_number(text: &str) -> Result<Number, String> {
    if let Ok(value) = text.parse::<u64>() {
        return Ok(value.into());
    }
    if let Ok(value) = text.parse::<i64>() {
        return Ok(value.into());
    }
    text.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .ok_or_else(|| "a number attribute is not a number".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Answer, ChallengePurpose, FactorKind, Method};

    fn uid(id: &str) -> UserId {
        UserId::parse(id).unwrap()
    }

    fn fid(id: &str) -> FactorId {
        FactorId::parse(id).unwrap()
    }

    fn cid(id: &str) -> ChallengeId {
        ChallengeId::parse(id).unwrap()
    }

    #[test]
    fn records_round_trip_flat_and_leave_out_missing_fields() {
        let factor = Factor {
            id: fid("fac_1"),
            user: uid("alice"),
            status: FactorStatus::Pending,
            label: Some("Phone".into()),
            created_at: 1_700_000_000,
            activated_at: None,
            enrolled_with_step_up: true,
            method: Method::Sms { phone: "+15555550100".into(), activation: Some(cid("chl_1")) },
        };
        let item = to_item(&factor, factor_key(&uid("alice"), &fid("fac_1"))).unwrap();
        assert_eq!(item["pk"], string("USER#alice"));
        assert_eq!(item["sk"], string("FACTOR#fac_1"));
        assert_eq!(item["kind"], string("sms"));
        assert_eq!(item["status"], string("pending"));
        assert_eq!(item["phone"], string("+15555550100"));
        assert_eq!(item["activation_challenge"], string("chl_1"));
        for absent in ["activated_at", "email", "secret", "last_step"] {
            assert!(!item.contains_key(absent), "{absent}");
        }
        assert_eq!(from_item::<Factor>(item).unwrap(), factor);

        let totp = Factor {
            method: Method::Totp { secret: "sealed".into(), last_step: Some(u64::MAX) },
            ..factor
        };
        let item = to_item(&totp, factor_key(&uid("alice"), &fid("fac_1"))).unwrap();
        assert_eq!((&item["kind"], &item["secret"]), (&string("totp"), &string("sealed")));
        assert_eq!(item["last_step"], number(u64::MAX));
        assert_eq!(from_item::<Factor>(item).unwrap(), totp);
    }

    #[test]
    fn a_factor_item_in_the_layout_written_before_the_typed_model_loads() {
        // Attribute by attribute, as the service wrote a TOTP factor before the typed model.
        let mut item = factor_key(&uid("alice"), &fid("fac_9"));
        for (name, value) in [
            ("id", string("fac_9")),
            ("user", string("alice")),
            ("kind", string("totp")),
            ("status", string("active")),
            ("created_at", number(1_700_000_000)),
            ("activated_at", number(1_700_000_060)),
            ("secret", string("v1:k1:c2VhbGVk")),
            ("last_step", number(56_666_668)),
        ] {
            item.insert(name.into(), value);
        }
        let factor = from_item::<Factor>(item).unwrap();
        assert_eq!((factor.id.as_str(), factor.user.as_str()), ("fac_9", "alice"));
        assert_eq!(factor.status, FactorStatus::Active);
        assert_eq!(factor.activated_at, Some(1_700_000_060));
        assert_eq!(
            factor.method,
            Method::Totp { secret: "v1:k1:c2VhbGVk".into(), last_step: Some(56_666_668) }
        );
    }

    #[test]
    fn challenge_purpose_is_snake_case_and_attempts_a_number() {
        let challenge = Challenge {
            id: cid("chl_1"),
            user: uid("alice"),
            factor_id: fid("fac_1"),
            created_at: 1_700_000_000,
            expires_at: 1_700_000_300,
            consumed_at: None,
            purpose: ChallengePurpose::PhoneChange { new_phone: "+15555550101".into() },
            answer: Answer::SentCode { hash: "ab12".into() },
            attempts: 3,
            factor_kind: Some(FactorKind::Sms),
        };
        let item = to_item(&challenge, challenge_key(&cid("chl_1"))).unwrap();
        assert_eq!(item["purpose"], string("phone_change_new"));
        assert_eq!(item["factor_kind"], string("sms"));
        assert_eq!(item["new_phone"], string("+15555550101"));
        assert_eq!(item["code_hash"], string("ab12"));
        assert_eq!(item["attempts"], number(3));
        assert!(!item.contains_key("consumed_at"));
        assert_eq!(from_item::<Challenge>(item).unwrap(), challenge);

        // A TOTP sign-in challenge written before `purpose`, `code_hash`, `attempts` and
        // `new_phone` existed reads as a sign-in challenge answered by the app, with no attempts.
        let mut old = challenge_key(&cid("chl_2"));
        for (name, value) in [
            ("id", string("chl_2")),
            ("user", string("alice")),
            ("login_id", string("lgn_1")),
            ("factor_id", string("fac_1")),
            ("created_at", number(1_700_000_000)),
            ("expires_at", number(1_700_000_300)),
        ] {
            old.insert(name.into(), value);
        }
        let read = from_item::<Challenge>(old).unwrap();
        let login_id = LoginId::parse("lgn_1").unwrap();
        assert_eq!(read.purpose, ChallengePurpose::Login { login_id, token_ttl: None });
        assert_eq!((read.answer, read.attempts), (Answer::AppCode { secret: None }, 0));
    }

    #[test]
    fn records_whose_fields_do_not_fit_their_kind_are_corrupt() {
        let mut item = factor_key(&uid("alice"), &fid("fac_1"));
        for (name, value) in [
            ("id", string("fac_1")),
            ("user", string("alice")),
            ("kind", string("totp")),
            ("status", string("active")),
            ("created_at", number(1_700_000_000)),
            ("phone", string("+15555550100")),
        ] {
            item.insert(name.into(), value);
        }
        let err = from_item::<Factor>(item).unwrap_err();
        assert!(
            matches!(err, StoreError::Corrupt(ref msg) if msg.contains("has no secret")),
            "{err:?}"
        );
    }

    #[test]
    fn unreadable_records_are_corrupt() {
        let mut item = factor_key(&uid("alice"), &fid("fac_1"));
        item.insert("created_at".into(), string("yesterday"));
        let err = from_item::<Factor>(item).unwrap_err();
        assert!(
            matches!(err, StoreError::Corrupt(ref msg) if msg.starts_with("USER#alice/FACTOR#fac_1"))
        );
    }
}
