package memdynamo

import (
	"fmt"
	"net/http"
)

// Error type names, spelled with the namespaces the real service puts in the
// "__type" field. The SDK keeps only the part after "#" and maps it to its typed
// errors (types.ConditionalCheckFailedException and so on); names it has no
// type for (ValidationException, UnknownOperationException,
// SerializationException) become a smithy.GenericAPIError with that code.
const (
	ddbNamespace = "com.amazonaws.dynamodb.v20120810#"

	errConditionalCheckFailed = ddbNamespace + "ConditionalCheckFailedException"
	errResourceNotFound       = ddbNamespace + "ResourceNotFoundException"
	errResourceInUse          = ddbNamespace + "ResourceInUseException"
	errInternalServer         = ddbNamespace + "InternalServerError"
	errValidation             = "com.amazon.coral.validate#ValidationException"
	errUnknownOperation       = "com.amazon.coral.service#UnknownOperationException"
	errSerialization          = "com.amazon.coral.service#SerializationException"
)

// apiError is an error answered to the client as DynamoDB would: an HTTP
// status and a JSON body {"__type": ..., "message": ...}.
type apiError struct {
	typ     string
	status  int
	message string
	// item is returned as "Item" with ConditionalCheckFailedException when the
	// request asked for ReturnValuesOnConditionCheckFailure=ALL_OLD.
	item map[string]*value
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s: %s", e.typ, e.message)
}

func validationf(format string, args ...any) *apiError {
	return &apiError{typ: errValidation, status: http.StatusBadRequest, message: fmt.Sprintf(format, args...)}
}

func serializationf(format string, args ...any) *apiError {
	return &apiError{typ: errSerialization, status: http.StatusBadRequest, message: fmt.Sprintf(format, args...)}
}

func unknownOperationf(format string, args ...any) *apiError {
	return &apiError{typ: errUnknownOperation, status: http.StatusBadRequest, message: fmt.Sprintf(format, args...)}
}

func resourceNotFoundf(format string, args ...any) *apiError {
	return &apiError{typ: errResourceNotFound, status: http.StatusBadRequest, message: fmt.Sprintf(format, args...)}
}

func resourceInUsef(format string, args ...any) *apiError {
	return &apiError{typ: errResourceInUse, status: http.StatusBadRequest, message: fmt.Sprintf(format, args...)}
}

func conditionalCheckFailed(old map[string]*value) *apiError {
	return &apiError{typ: errConditionalCheckFailed, status: http.StatusBadRequest,
		message: "The conditional request failed", item: old}
}

func internalf(format string, args ...any) *apiError {
	return &apiError{typ: errInternalServer, status: http.StatusInternalServerError, message: fmt.Sprintf(format, args...)}
}

// errTableNotFound is the error item operations return for a missing table.
func errTableNotFound() *apiError {
	return resourceNotFoundf("Requested resource not found")
}
