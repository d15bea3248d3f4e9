//! Public-API tests of flow-doctor-diagnosis.

mod corpus;
