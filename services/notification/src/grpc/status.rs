//! The one place where the service's errors become `Status`.

use tonic::Status;

use countersign_kit::status::{internal, unavailable};

use crate::outbox::{DeliveryError, EnqueueError};

/// The message of every NOT_FOUND from GetDelivery.
const NOT_FOUND_MESSAGE: &str = "no message with this id";

impl From<EnqueueError> for Status {
    fn from(error: EnqueueError) -> Self {
        match error {
            EnqueueError::Unavailable(_) => unavailable(),
            EnqueueError::Store(_) => internal(&error),
        }
    }
}

impl From<DeliveryError> for Status {
    fn from(error: DeliveryError) -> Self {
        match error {
            DeliveryError::NotFound => Status::not_found(NOT_FOUND_MESSAGE),
            DeliveryError::Unavailable(_) => unavailable(),
            DeliveryError::Store(_) => internal(&error),
        }
    }
}

#[cfg(test)]
mod tests {
    use tonic::Code;

    use super::*;
    use crate::store::StoreError;

    #[test]
    fn unreachable_database_becomes_unavailable() {
        let error = EnqueueError::Unavailable(StoreError::Unavailable(sqlx::Error::PoolClosed));

        assert_eq!(Status::from(error).code(), Code::Unavailable);
    }

    #[test]
    fn corrupt_row_becomes_internal_without_cause() {
        let error = DeliveryError::Store(StoreError::Corrupt("state"));

        let status = Status::from(error);

        assert_eq!(status.code(), Code::Internal);
        assert_eq!(status.message(), "internal error");
    }

    #[test]
    fn unknown_message_becomes_not_found() {
        assert_eq!(Status::from(DeliveryError::NotFound).code(), Code::NotFound);
    }
}
