package client

// StrictBucketAnswer is strictBucketAnswer, for the tests against a
// cluster in package client_test.
var StrictBucketAnswer = strictBucketAnswer
