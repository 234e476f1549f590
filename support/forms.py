from django import forms

from support.models import Agent, Message, Ticket


class ReplyForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), max_length=50_000, label="Reply")
    kind = forms.ChoiceField(choices=Message.Kind.choices, initial=Message.Kind.PUBLIC, label="Type")
    status = forms.ChoiceField(
        choices=[("", "(keep status)"), *Ticket.STATUS_CHOICES_AFTER_NEW],
        required=False,
        label="Then set status",
    )
    # One per rendered form: sending the same form twice stores one message.
    client_token = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)

    def __init__(self, *args, **kwargs):
        # Its own ids: the ticket page also has the update form, whose fields share these names.
        kwargs.setdefault("auto_id", "reply_%s")
        super().__init__(*args, **kwargs)


class MergeForm(forms.Form):
    into = forms.IntegerField(min_value=1, label="Merge into #")


class TicketUpdateForm(forms.Form):
    status = forms.ChoiceField(choices=Ticket.Status.choices)
    priority = forms.ChoiceField(choices=Ticket.Priority.choices)
    assignee = forms.ModelChoiceField(queryset=Agent.objects.none(), required=False)
    tags = forms.CharField(max_length=500, required=False, help_text="comma-separated")

    def __init__(self, *args, agents=None, status_now: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = agents if agents is not None else Agent.objects.none()
        if status_now != Ticket.Status.NEW:  # a ticket never goes back to new
            self.fields["status"].choices = Ticket.STATUS_CHOICES_AFTER_NEW

    def clean_tags(self) -> list[str]:
        return sorted({t.strip()[:50] for t in self.cleaned_data["tags"].split(",") if t.strip()})


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "any status"), *Ticket.Status.choices], required=False)
    priority = forms.ChoiceField(choices=[("", "any priority"), *Ticket.Priority.choices], required=False)
    team = forms.SlugField(required=False)
    tag = forms.CharField(max_length=50, required=False)
    archetype = forms.CharField(max_length=120, required=False)
    churn_band = forms.ChoiceField(
        choices=[("", "any churn"), ("low", "low"), ("medium", "medium"), ("high", "high")], required=False
    )
    sort = forms.ChoiceField(
        choices=[("value", "value at risk"), ("due", "SLA due"), ("new", "newest")], required=False
    )
