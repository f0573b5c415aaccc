mod metadata_store;
mod notification_store;
mod to_code;

pub use metadata_store::SimpleMetadataStore;
pub use notification_store::SimpleNotificationStore;
pub use to_code::SimpleJobCode;
pub use to_code::SimpleNotificationCode;
