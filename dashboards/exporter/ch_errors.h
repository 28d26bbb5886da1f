// The ClickHouse exception codes the exporter acts on ("Code: 60" in an
// error answer; ClickHouse's src/Common/ErrorCodes.cpp).
#pragma once

namespace dtch::ch_error {

// The schema does not fit: look again, create what is missing.
constexpr int kNoSuchColumnInTable = 16;
constexpr int kUnknownIdentifier = 47;
constexpr int kUnknownTable = 60;
constexpr int kUnknownDatabase = 81;

// The server refuses the data itself: sending it again cannot help.
constexpr int kCannotParseText = 6;
constexpr int kCannotParseQuotedString = 26;
constexpr int kCannotParseInputAssertionFailed = 27;
constexpr int kCannotParseDate = 38;
constexpr int kCannotParseDatetime = 41;
constexpr int kTypeMismatch = 53;
constexpr int kArgumentOutOfBound = 69;
constexpr int kCannotConvertType = 70;
constexpr int kCannotParseNumber = 72;
constexpr int kIncorrectData = 117;

// Credentials.
constexpr int kUnknownUser = 192;
constexpr int kWrongPassword = 193;
constexpr int kRequiredPassword = 194;
constexpr int kAuthenticationFailed = 516;

constexpr bool schema_mismatch(int code)
{
	return code == kNoSuchColumnInTable || code == kUnknownIdentifier || code == kUnknownTable ||
	       code == kUnknownDatabase;
}

constexpr bool bad_data(int code)
{
	switch (code) {
	case kCannotParseText: case kCannotParseQuotedString: case kCannotParseInputAssertionFailed:
	case kCannotParseDate: case kCannotParseDatetime: case kTypeMismatch: case kArgumentOutOfBound:
	case kCannotConvertType: case kCannotParseNumber: case kIncorrectData:
		return true;
	default:
		return false;
	}
}

constexpr bool bad_credentials(int code)
{
	return code == kUnknownUser || code == kWrongPassword || code == kRequiredPassword ||
	       code == kAuthenticationFailed;
}

}  // namespace dtch::ch_error
