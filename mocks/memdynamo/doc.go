// Package memdynamo is an in-memory, in-process stand-in for Amazon DynamoDB
// (in-memory L3 stand-in, not DynamoDB), for the "embedded" environment on
// machines with nothing installed.
//
// A [Server] speaks DynamoDB's real wire protocol: JSON 1.0 over HTTP, POST /
// with an "X-Amz-Target: DynamoDB_20120810.<Operation>" header and content type
// application/x-amz-json-1.0. The real aws-sdk-go-v2 dynamodb.Client, pointed at
// the endpoint [Server.Start] returns through Options.BaseEndpoint, works
// unchanged, including its response CRC32 check: every response carries a
// correct X-Amz-Crc32 header. Errors use DynamoDB's "__type" names, so the SDK
// returns its typed errors (*types.ConditionalCheckFailedException,
// *types.ResourceNotFoundException, *types.ResourceInUseException) and a
// smithy.APIError with code ValidationException or UnknownOperationException
// for the others.
//
// # Supported
//
// Operations: CreateTable, DescribeTable, ListTables, DeleteTable,
// UpdateTimeToLive, DescribeTimeToLive, PutItem, GetItem, DeleteItem and
// BatchGetItem, with DynamoDB's request and response shapes. These are the
// operations its callers make (cachecore's DynamoDB tier, and the mocks
// package's health check and table cleanup); any other operation is answered
// with UnknownOperationException (see below). All ten attribute types
// round-trip; numbers are exact decimals with DynamoDB's 38-digit precision
// and range, returned in canonical form ("1.50" comes back as "1.5") and
// compared numerically.
//
// Validation follows DynamoDB: table names (3-255 characters of
// [a-zA-Z0-9_.-]), key schema and attribute definitions, billing mode and
// throughput, key attributes present with their declared types and non-empty,
// key sizes (2048/1024 bytes), the 400 KB item size limit ("Item size has
// exceeded the maximum allowed size"), 32 levels of nesting, empty and
// duplicate sets, BatchGetItem's limits (100 keys, no duplicate keys), and
// expression placeholders that are undefined or unused.
//
// Expressions are parsed by a recursive-descent parser and evaluated exactly:
//   - ConditionExpression in PutItem and DeleteItem (with
//     ReturnValuesOnConditionCheckFailure): = <> < <= > >=, BETWEEN, IN,
//     AND, OR, NOT, parentheses, attribute_exists, attribute_not_exists,
//     attribute_type, begins_with, contains and size. Numbers compare
//     numerically, strings and binaries bytewise; comparing values of
//     different types is false. Paths may be nested (a.b[2].c). Keywords are
//     case-insensitive, function names are not, and DynamoDB's 573 reserved
//     words are rejected as bare attribute names, as the real service does
//     (use #placeholders).
//   - ProjectionExpression (and AttributesToGet) in GetItem and BatchGetItem,
//     including nested paths.
//
// A malformed expression fails with a ValidationException that names the
// problem ("Invalid ConditionExpression: Syntax error; token: ...").
//
// ReturnConsumedCapacity (TOTAL or INDEXES) reports on-demand prices computed
// from DynamoDB's item size rules: one write unit per started KB of the larger
// of the old and new item; one read unit per started 4 KB for a consistent
// read and half that for an eventually consistent one.
//
// # Not DynamoDB
//
// There is no capacity model or throttling (consumed capacity is reported,
// never enforced), no persistence (tables live as long as the Server), no
// authentication (signatures are not checked), no UpdateItem (nor
// UpdateExpression), BatchWriteItem, Query, Scan, UpdateTable, transactions,
// PartiQL, secondary indexes, streams, backups or global tables (these fail
// with UnknownOperationException, whose message names the operation memdynamo
// does not implement, or ValidationException rather than being ignored), and
// no legacy parameters (Expected, ConditionalOperator). Tables are ACTIVE as
// soon as CreateTable returns and gone as soon as DeleteTable returns. Reads
// are always consistent, whatever ConsistentRead says (it only changes the
// price).
//
// Time to live: UpdateTimeToLive records the attribute and DescribeTimeToLive
// reports it. As in DynamoDB, deletion of expired items is lazy: items whose
// TTL attribute (a Number of epoch seconds) is in the past are deleted only
// when a later write reaches the table, a bounded number per write, and TTLs
// more than five years in the past are ignored. Reads still return expired
// items until then, so readers must do their own expiry check, exactly as they
// must with the real service.
package memdynamo
