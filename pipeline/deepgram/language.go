package deepgram

import "strings"

// regional lists the language codes with a region that Deepgram's models take
// (docs: Models & Languages Overview), lowercased. Any other tag is sent as its
// primary language: "de-DE" as "de", which Deepgram knows, where "de-DE" would
// be refused.
var regional = map[string]string{}

func init() {
	for _, tag := range []string{
		"en-US", "en-GB", "en-AU", "en-NZ", "en-IN", "en-CA",
		"es-419", "fr-CA", "pt-BR", "pt-PT", "de-CH", "nl-BE",
		"zh-CN", "zh-TW", "zh-HK", "zh-Hans", "zh-Hant",
		"ko-KR", "sv-SE", "da-DK", "th-TH", "hi-Latn",
	} {
		regional[strings.ToLower(tag)] = tag
	}
}

// Language maps a BCP 47 tag to the language code Deepgram takes: the tag
// itself when Deepgram has a model for that region ("en-GB", "pt-BR"),
// otherwise its primary language ("fr" for "fr-FR"). "" stays "" (Deepgram's
// default, English).
func Language(tag string) string {
	if tag == "" {
		return ""
	}
	if t, ok := regional[strings.ToLower(tag)]; ok {
		return t
	}
	primary, _, _ := strings.Cut(tag, "-")
	return strings.ToLower(primary)
}
