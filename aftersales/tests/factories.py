import factory
from django.contrib.auth.models import Group

from aftersales.tenancy.models import ApiKey, ConsumerProfile, Merchant, MerchantMember, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    # A field (hashed at build time), not a post-generation call: with
    # skip_postgeneration_save that call never reached the database, so logins failed.
    password = factory.django.Password("pass-1234")


class MerchantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Merchant

    code = factory.Sequence(lambda n: f"m{n}")
    name = factory.Sequence(lambda n: f"商家{n}")


class MerchantMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MerchantMember

    merchant = factory.SubFactory(MerchantFactory)
    user = factory.SubFactory(UserFactory)
    role = MerchantMember.Role.OWNER


class ConsumerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConsumerProfile
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    name = "张三丰"

    credit_score = 700

    @factory.post_generation
    def phone(obj, create, extracted, **kwargs):
        obj.set_phone(extracted or "13812345678")
        if create:
            obj.save()


def platform_user(group, username=None):
    user = UserFactory(username=username or f"staff-{group}", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


def api_key(scope, merchant=None, name="key"):
    prefix, raw = ApiKey.new_raw_key()
    key = ApiKey.objects.create(
        name=name, prefix=prefix, hashed_key=ApiKey.hash(raw), scope=scope, merchant=merchant
    )
    return key, raw
