"""Controlled vocabularies used across the domain models, the API and the fixtures."""

from django.db import models


class CompanyKind(models.TextChoices):
    HARDWARE_MAKER = "hardware_maker", "Hardware maker"
    MINER = "miner", "Miner / hoster"
    INVESTOR = "investor", "Investor"
    EXCHANGE = "exchange", "Exchange"
    MEDIA = "media", "Media"
    GOVERNMENT = "government", "Government / regulator"
    RESEARCH = "research", "Research"
    OTHER = "other", "Other"


class DatePrecision(models.TextChoices):
    DAY = "day", "Day"
    MONTH = "month", "Month"
    QUARTER = "quarter", "Quarter"
    YEAR = "year", "Year"


class PeriodGranularity(models.TextChoices):
    """How long a figure's period is, derived from its start and end (blank when it has no period)."""

    DAY = "day", "Day"
    MONTH = "month", "Month"
    QUARTER = "quarter", "Quarter"
    HALF = "half", "Half year"
    YEAR = "year", "Year"
    OTHER = "other", "Other"


# An article's publication date is never known to the quarter.
ARTICLE_DATE_PRECISIONS = (DatePrecision.DAY, DatePrecision.MONTH, DatePrecision.YEAR)


class EventType(models.TextChoices):
    FINANCIAL_REPORT = "financial_report", "Financial report"
    IPO_LISTING = "ipo_listing", "IPO / listing"
    FUNDING_ROUND = "funding_round", "Funding round"
    PRODUCT_LAUNCH = "product_launch", "Product launch"
    ORDER_CONTRACT = "order_contract", "Order / contract"
    INVESTMENT_STAKE = "investment_stake", "Investment / stake"
    SALES_SUSPENSION = "sales_suspension", "Sales suspension"
    REGULATION_BAN = "regulation_ban", "Regulation / ban"
    GOVERNMENT_ACTION = "government_action", "Government action"
    STATEMENT = "statement", "Hearing / speech / statement"
    MARKET_MOVE = "market_move", "Market move"
    FOUNDING = "founding", "Founding"
    PUBLICATION = "publication", "Publication / report"
    OTHER = "other", "Other"


class ParticipantRole(models.TextChoices):
    SUBJECT = "subject", "Subject"
    COUNTERPARTY = "counterparty", "Counterparty"
    INVESTOR = "investor", "Investor"
    CUSTOMER = "customer", "Customer"
    SUPPLIER = "supplier", "Supplier"
    COMPETITOR = "competitor", "Competitor"
    REGULATOR = "regulator", "Regulator"
    REPORTER = "reporter", "Reporter"
    ANALYST = "analyst", "Analyst"
    SPEAKER = "speaker", "Speaker"
    FOUNDER = "founder", "Founder"
    OTHER = "other", "Other"


class Metric(models.TextChoices):
    REVENUE = "revenue", "Revenue"
    NET_PROFIT = "net_profit", "Net profit"
    NET_LOSS = "net_loss", "Net loss"
    GROSS_MARGIN = "gross_margin", "Gross margin"
    MARKET_SHARE = "market_share", "Market share"
    VALUATION = "valuation", "Valuation"
    FUNDING_RAISED = "funding_raised", "Funding raised"
    INVESTMENT = "investment", "Investment"
    PREPAYMENT = "prepayment", "Prepayment"
    COST = "cost", "Cost"
    RESERVES = "reserves", "Reserves"
    PRICE = "price", "Price"
    PRICE_CHANGE = "price_change", "Price change"
    QUANTITY = "quantity", "Quantity"
    AREA = "area", "Area"
    COUNT = "count", "Count"
    SHARE = "share", "Share"
    OTHER = "other", "Other"


class Unit(models.TextChoices):
    USD = "USD", "US dollars"
    PERCENT = "percent", "Percent"
    UNITS = "units", "Units (machines, items, projects)"
    PEOPLE = "people", "People"
    ACRES = "acres", "Acres"
    TIMES = "times", "Times"
    DAYS = "days", "Days"
    MONTHS = "months", "Months"
    YEARS = "years", "Years"
    NANOMETERS = "nm", "Nanometres"


class Qualifier(models.TextChoices):
    EXACT = "exact", "Exact"
    ABOUT = "about", "About"
    MORE_THAN = "more_than", "More than / at least"
    LESS_THAN = "less_than", "Less than / up to"


class ReviewStatus(models.TextChoices):
    REPORTED = "reported", "Reported"
    VERIFIED = "verified", "Verified"
    CORRECTED = "corrected", "Corrected"
    DISPUTED = "disputed", "Disputed"
    REJECTED = "rejected", "Rejected"
    # Proposals (see PROPOSAL_STATUSES): the extraction proposed it and no editor accepted it yet, or an editor
    # rejected the proposal. "rejected" above is an editor's verdict on a number the article really states.
    PROPOSED = "proposed", "Proposed (not reviewed)"
    DISMISSED = "dismissed", "Proposal rejected"


# Statuses that mean an editor has looked at the record and taken responsibility for it.
EDITOR_STATUSES = frozenset(
    {ReviewStatus.VERIFIED, ReviewStatus.CORRECTED, ReviewStatus.DISPUTED, ReviewStatus.REJECTED}
)


class ConsistencyCheck(models.TextChoices):
    """The kinds of finding of the consistency report (``selectors.consistency_findings``)."""

    SUM = "sum", "Parts do not sum to the whole"
    ARITHMETIC = "arithmetic", "Stated arithmetic does not hold"
    DISAGREEMENT = "disagreement", "Articles disagree"


class EventStatus(models.TextChoices):
    """Whether an event is a fact or a proposal of the extraction (see PROPOSAL_STATUSES)."""

    REPORTED = "reported", "Reported"
    PROPOSED = "proposed", "Proposed (not reviewed)"
    DISMISSED = "dismissed", "Proposal rejected"


# Proposals are not facts: events and figures with these statuses are hidden from every public read (lists,
# details, search, exports, series, counts, the change feed and export_fixtures). Editors see them only when they
# ask (``?status=proposed``) and work through them in the admin's review desk; accepting one makes it "reported".
PROPOSAL_STATUSES = frozenset({ReviewStatus.PROPOSED, ReviewStatus.DISMISSED})
