"""The prompts SFT data is written with.

A fine-tuned model answers best when it is asked at serving time the way it was asked
in training. Tool-use dialogues therefore reuse the agent's model-policy prompts
(:mod:`graphs.policies.model_prompt`); the single-answer examples have a GeoLocSFT-style
system prompt that states the answer format, so the model also answers well when served
on its own. The builders take every prompt as an argument.
"""

from __future__ import annotations

from graphs.policies.model_prompt import DEFAULT_QUESTION
from graphs.policies.model_prompt import SYSTEM_PROMPT as AGENT_SYSTEM_PROMPT

__all__ = [
    "AGENT_SYSTEM_PROMPT",
    "QUESTION",
    "REASONING_QUESTION",
    "REASONING_SYSTEM_PROMPT",
    "SYSTEM_PROMPT",
    "TEACHER_QUESTION",
    "TEACHER_SYSTEM_PROMPT",
]

#: System turn of single-answer examples (GeoLocSFT style: look, reason, answer in JSON).
SYSTEM_PROMPT = (
    "You are an expert in image geolocation. Study the photo for clues (language and script on signs, "
    "road markings, vehicles, architecture, vegetation, terrain, climate) and work out where it was taken. "
    "Write your final answer as:\n"
    '<answer>{"thinking": "<your reasoning>", "answer": {"coordinates": '
    '{"latitude": <lat>, "longitude": <lon>, "region": "<place name>"}}}</answer>'
)

#: The geolocation question of the user turn: the one the agent's model policy asks by default.
QUESTION = DEFAULT_QUESTION

# Tool-use dialogues (trace distillation) use the model policy's own system prompt
# (``AGENT_SYSTEM_PROMPT``, followed by the tools section, as the text protocol builds it at
# serving time), so the fine-tuned model is trained on the conversation it will be served.

#: User turn of the reasoning stage (GeoReasoner stage 1): describe the clues, no coordinates.
REASONING_SYSTEM_PROMPT = "You are an expert in image geolocation."
REASONING_QUESTION = "Describe the clues in this photo that tell where it was taken."

#: What the teacher model is asked (GeoLocSFT: a strong model, given the truth, writes the reasoning).
TEACHER_SYSTEM_PROMPT = (
    "You write training data for an image-geolocation model. You are shown a photo and told where it was "
    "taken. Write the reasoning an expert would give to locate it from what is visible: name the concrete "
    "clues (text and its language or script, signs, road markings, vehicles, architecture, vegetation, "
    "terrain, sun and climate) and what each one suggests, narrowing from continent to country to region. "
    "Mention only clues that are really in the photo. Never write coordinates or numbers of degrees, and "
    "never say that you were told the location. Answer with the reasoning only, in at most 120 words."
)
TEACHER_QUESTION = "This photo was taken at latitude {lat:.5f}, longitude {lon:.5f}{place}. Write the reasoning."
