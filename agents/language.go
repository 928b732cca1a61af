package agents

import "strings"

// STTLanguage is the language the caller speaks: stt.language, or the agent's
// language when that is not set. It is what the speech-to-text provider is told.
func (c *Config) STTLanguage() string {
	if c.STT.Language != "" {
		return c.STT.Language
	}
	return c.Language
}

// TTSLanguage is the language the agent speaks: tts.language, or the agent's
// language when that is not set. It is what the text-to-speech provider is told.
func (c *Config) TTSLanguage() string {
	if c.TTS.Language != "" {
		return c.TTS.Language
	}
	return c.Language
}

// primaryLanguage returns the primary subtag of a BCP 47 tag, lowercased: "en"
// for "en-US".
func primaryLanguage(tag string) string {
	primary, _, _ := strings.Cut(tag, "-")
	return strings.ToLower(primary)
}

// defaultVoice picks the voice of a config whose file does not name one: espeak
// has a voice per language, named after its tag (espeak falls back from
// "de-de" to "de"), so an agent that speaks another language than American
// English gets that language's voice rather than an American accent.
func (c *Config) defaultVoice() {
	if c.TTS.Provider == "espeak" && languageRE.MatchString(c.TTSLanguage()) {
		c.TTS.Voice = strings.ToLower(c.TTSLanguage())
	}
}

// validateLanguages checks the per-stage languages and that the recogniser
// understands the caller's: PocketSphinx ships only an American English model,
// and would otherwise hear every other language as English words.
func (c *Config) validateLanguages(p *problems) {
	show := c.src.show
	for _, f := range []struct{ path, tag string }{{"stt.language", c.STT.Language}, {"tts.language", c.TTS.Language}} {
		if f.tag != "" && !languageRE.MatchString(f.tag) {
			p.addf(f.path, "%s is not a language tag such as en-US", show(f.tag))
		}
	}
	if lang := c.STTLanguage(); c.STT.Provider == "pocketsphinx" && languageRE.MatchString(lang) && primaryLanguage(lang) != "en" {
		path := "language"
		if c.STT.Language != "" {
			path = "stt.language"
		}
		p.addf(path, "%s: the pocketsphinx recogniser knows only English (its model is en-US); use stt.provider deepgram or openai for other languages", show(lang))
	}
}
