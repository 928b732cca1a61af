// Package openaiaudio provides speech synthesis and per-utterance transcription
// through any OpenAI-compatible audio API (OpenAI, Azure OpenAI, Groq, vLLM,
// whisper.cpp or Speaches servers) using github.com/sashabaranov/go-openai.
//
// Synthesis asks for raw 24 kHz PCM and passes it on as it arrives, resampled
// only when the caller wants another rate. Transcription suits servers without
// a streaming API: a stream buffers each utterance and uploads it as WAV on
// Finalize, so it produces finals and no partials.
package openaiaudio
