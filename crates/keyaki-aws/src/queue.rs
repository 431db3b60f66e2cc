//! The SQS queue `keyaki watch` consumes: long-polled receives and deletes, nothing else.

use aws_config::SdkConfig;

/// One message received.
#[derive(Debug, Clone)]
pub struct Message {
    pub id: String,
    pub receipt_handle: String,
    pub body: String,
    /// How many times the queue has delivered it (`ApproximateReceiveCount`), 1 the first
    /// time.
    pub receive_count: u32,
}

/// A failed queue call, with the SDK's words.
#[derive(Debug, thiserror::Error)]
#[error("SQS {operation} on `{queue}` failed: {message}")]
pub struct QueueError {
    pub operation: &'static str,
    pub queue: String,
    pub message: String,
}

/// A queue, by URL.
#[derive(Debug, Clone)]
pub struct Queue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl Queue {
    pub fn new(config: &SdkConfig, url: &str) -> Queue {
        Queue {
            client: aws_sdk_sqs::Client::new(config),
            url: url.to_string(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn error<E, R>(
        &self,
        operation: &'static str,
        e: aws_smithy_runtime_api::client::result::SdkError<E, R>,
    ) -> QueueError
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let f = crate::failure::Failure::of(&e);
        QueueError {
            operation,
            queue: self.url.clone(),
            message: format!("{}: {}", f.code, f.message),
        }
    }

    /// Waits up to `wait_seconds` (0 to 20) for up to `max` (1 to 10) messages.
    pub async fn receive(&self, max: i32, wait_seconds: i32) -> Result<Vec<Message>, QueueError> {
        use aws_sdk_sqs::types::MessageSystemAttributeName;
        let out = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max.clamp(1, 10))
            .wait_time_seconds(wait_seconds.clamp(0, 20))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| self.error("ReceiveMessage", e))?;
        Ok(out
            .messages
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| {
                let receive_count = m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(1);
                Some(Message {
                    id: m.message_id?,
                    receipt_handle: m.receipt_handle?,
                    body: m.body.unwrap_or_default(),
                    receive_count,
                })
            })
            .collect())
    }

    /// Deletes a handled message.
    pub async fn delete(&self, message: &Message) -> Result<(), QueueError> {
        self.client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(&message.receipt_handle)
            .send()
            .await
            .map_err(|e| self.error("DeleteMessage", e))?;
        Ok(())
    }
}
